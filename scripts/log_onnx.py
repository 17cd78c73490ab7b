#!/usr/bin/env python
"""Log ONNX models run by onnxruntime.

  wine: train the wine ElasticNet, convert it with skl2onnx (float64), log it.
  hf:   export a HuggingFace text classifier with torch's exporter; served with tokenizers +
        onnxruntime only (no torch at inference).

Example: python scripts/log_onnx.py wine --register wine-onnx --alias production
         python scripts/log_onnx.py hf --tiny --register sentiment-onnx --alias staging
"""

import sys
import tempfile

from wrappers import cli


def main(args):
    from wrappers import onnx

    if args.source == "wine":
        return onnx.log_wine_model(
            alpha=args.alpha,
            l1_ratio=args.l1_ratio,
            register_as=args.register,
            alias=args.alias,
            experiment=args.experiment or "onnx",
        )
    from wrappers import hf

    with tempfile.TemporaryDirectory() as tmp:
        source = str(hf.build_tiny_text_classifier(tmp)) if args.tiny else args.model
        return onnx.log_hf_model(
            source, register_as=args.register, alias=args.alias,
            experiment=args.experiment or "onnx",
        )


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("source", choices=["wine", "hf"], help="which producer to run")
    p.add_argument("--alpha", type=float, default=0.5, help="wine: ElasticNet alpha")
    p.add_argument("--l1-ratio", type=float, default=0.5, help="wine: ElasticNet l1_ratio")
    p.add_argument("--model", help="hf: hub id or local directory")
    p.add_argument("--tiny", action="store_true", help="hf: build a tiny local model")
    return p


if __name__ == "__main__":
    p = build_parser()
    a = p.parse_args()
    if a.source == "hf" and not (a.model or a.tiny):
        p.error("hf needs --model NAME_OR_PATH or --tiny")
    sys.exit(cli.run(main, a))
