#!/usr/bin/env python
"""Log a HuggingFace text classifier (weights + tokenizer as artifacts) as an MLflow pyfunc.

--model takes a hub id (e.g. distilbert-base-uncased-finetuned-sst-2-english, needs internet
once, at logging time) or a local save_pretrained directory. --tiny builds a small random-init
BERT locally instead (no hub; used by tests and the offline demo).

Example: python scripts/log_hf.py --tiny --register sentiment --alias production
"""

import sys
import tempfile

from wrappers import cli


def main(args):
    from wrappers import hf

    with tempfile.TemporaryDirectory() as tmp:
        source = str(hf.build_tiny_text_classifier(tmp)) if args.tiny else args.model
        return hf.log_model(
            source,
            register_as=args.register,
            alias=args.alias,
            experiment=args.experiment or "hf-text-classifier",
            batch_size=args.batch_size,
        )


if __name__ == "__main__":
    p = cli.parser(__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="hub id or local directory of a sequence classifier")
    src.add_argument("--tiny", action="store_true", help="build a tiny local model instead")
    p.add_argument("--batch-size", type=int, default=32, help="inference batch size")
    sys.exit(cli.run(main, p.parse_args()))
