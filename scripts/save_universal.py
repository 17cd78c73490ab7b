#!/usr/bin/env python
"""Upload a model's files to Azure Blob or S3 with UniversalModelWrapper, then log/register it.

The MLflow model holds only a manifest (blob URIs, sizes, sha256); whoever loads or serves it
fetches the files from the store with its own credentials (AZURE_STORAGE_CONNECTION_STRING, or
MLFLOW_S3_ENDPOINT_URL + AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) into a local cache.

Examples:
  python scripts/save_universal.py --tiny --storage azure://mlflow/universal \\
      --register sentiment-universal --alias production
  python scripts/save_universal.py --model distilbert-base-uncased-finetuned-sst-2-english \\
      --storage wasbs://models@ACCOUNT.blob.core.windows.net/universal --register sst2
  python scripts/save_universal.py --model wine.onnx --provider onnx --task tabular-regression \\
      --input-example rows.csv --storage s3://models/universal --register wine-universal
"""

import os
import sys
import tempfile

from wrappers import cli
from wrappers.errors import WrappersError

# Named for --help and errors only; read by wrappers.universal.settings.UniversalSettings
# (imported when the command runs, so that --help does not load mlflow).
STORAGE_ENV = "UNIVERSAL_MODEL_STORAGE"


def main(args):
    import pandas as pd

    from wrappers import hf, universal
    from wrappers.transfer import TransferSettings

    storage = args.storage or universal.UniversalSettings.load().default_storage
    if not storage:
        raise WrappersError(f"no --storage given and {STORAGE_ENV} is not set: pass e.g. "
                            "--storage azure://CONTAINER/universal or s3://BUCKET/universal")
    changes = {}
    if args.concurrency:
        changes["max_concurrency"] = args.concurrency
    if args.block_size_mib:
        changes["block_size"] = int(args.block_size_mib * (1 << 20))
    if args.no_progress:
        changes["progress"] = False
    settings = TransferSettings().with_(**changes)
    example = pd.read_csv(args.input_example) if args.input_example else None
    with tempfile.TemporaryDirectory() as tmp:
        source = str(hf.build_tiny_text_classifier(os.path.join(tmp, "tiny-bert"))) \
            if args.tiny else args.model
        return universal.UniversalModelWrapper.save(
            source, args.provider, args.task, storage=storage,
            version=args.version, input_example=example,
            register_as=args.register, alias=args.alias,
            experiment=args.experiment or "universal",
            batch_size=args.batch_size, settings=settings,
        )


if __name__ == "__main__":
    p = cli.parser(__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="hub id or save_pretrained dir (huggingface); weights file "
                     "or dir with model.onnx / model.pt (TorchScript) / model.skops")
    src.add_argument("--tiny", action="store_true",
                     help="build a tiny random-init BERT text classifier locally (no hub)")
    p.add_argument("--provider", default="huggingface",
                   help="huggingface | pytorch | sklearn | onnx")
    p.add_argument("--task", default="text-classification",
                   help="text-classification | tabular-regression | tabular-classification")
    p.add_argument("--storage", help=f"where the files go: azure://CONTAINER/PREFIX, "
                   f"wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PREFIX or s3://BUCKET/PREFIX "
                   f"(default: ${STORAGE_ENV}, else azure://$AZURE_STORAGE_CONTAINER/universal)")
    p.add_argument("--version", help="folder under STORAGE/<model>/ (default: content hash)")
    p.add_argument("--input-example", metavar="CSV",
                   help="tabular models: a few rows of features (columns = feature order)")
    p.add_argument("--batch-size", type=int, default=32, help="text models: inference batch")
    p.add_argument("--block-size-mib", type=float, default=None,
                   help="upload block size in MiB (default: $TRANSFER_BLOCK_SIZE or 4)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="blocks in flight at once (default: $TRANSFER_MAX_CONCURRENCY or 4)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (CI logs)")
    sys.exit(cli.run(main, p.parse_args()))
