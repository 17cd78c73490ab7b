#!/usr/bin/env python
"""Train the wine-quality ElasticNet, log it to MLflow, optionally register and alias it.

Example: python scripts/train_wine.py --alpha 0.5 --l1-ratio 0.5 --register wine --alias production
"""

import sys

from wrappers import cli


def main(args):
    from wrappers import wine

    return wine.log_model(
        alpha=args.alpha,
        l1_ratio=args.l1_ratio,
        seed=args.seed,
        register_as=args.register,
        alias=args.alias,
        experiment=args.experiment or "wine",
    )


if __name__ == "__main__":
    p = cli.parser(__doc__)
    p.add_argument("--alpha", type=float, default=0.5, help="ElasticNet regularisation strength")
    p.add_argument("--l1-ratio", type=float, default=0.5, help="ElasticNet L1/L2 mix (0..1)")
    p.add_argument("--seed", type=int, default=42, help="train/test split and model seed")
    sys.exit(cli.run(main, p.parse_args()))
