#!/usr/bin/env python
"""Model registry by alias: list, set/move, delete, promote (staging → production), rollback.

Examples:
  python scripts/registry.py list
  python scripts/registry.py set-alias wine 3 staging
  python scripts/registry.py promote wine            # production := staging's version
  python scripts/registry.py rollback wine           # production := the version it had before
  python scripts/registry.py delete-alias wine staging
"""

import sys

from wrappers import cli, registry


def main(args):
    if args.command == "list":
        models = registry.list_models()
        if args.json:
            return models
        lines = [f"{'model':<24} {'latest':>6}  aliases"]
        for m in models:
            aliases = ", ".join(f"{a}→v{v}" for a, v in sorted(m.aliases.items())) or "-"
            lines.append(f"{m.name:<24} {m.latest_version or '-':>6}  {aliases}")
        return "\n".join(lines)
    if args.command == "set-alias":
        registry.set_alias(args.model, args.alias, args.version)
        return f"{args.model}@{args.alias} → version {args.version}"
    if args.command == "delete-alias":
        version = registry.delete_alias(args.model, args.alias)
        return f"deleted {args.model}@{args.alias} (was version {version})"
    if args.command == "promote":
        version = registry.promote(args.model, args.source, args.target)
        return f"{args.model}@{args.target} → version {version} (from @{args.source})"
    if args.command == "rollback":
        version = registry.rollback(args.model, args.alias)
        return f"{args.model}@{args.alias} rolled back to version {version}"
    raise AssertionError(args.command)


def build_parser():
    p = cli.parser(__doc__, register=False)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered models with their aliases")
    s = sub.add_parser("set-alias", help="point ALIAS at VERSION (records the previous one)")
    s.add_argument("model")
    s.add_argument("version")
    s.add_argument("alias")
    d = sub.add_parser("delete-alias", help="remove ALIAS")
    d.add_argument("model")
    d.add_argument("alias")
    pr = sub.add_parser("promote", help="move TARGET to the version SOURCE points at")
    pr.add_argument("model")
    pr.add_argument("--source", default=registry.STAGING)
    pr.add_argument("--target", default=registry.PRODUCTION)
    r = sub.add_parser("rollback", help="move ALIAS back to the version it had before")
    r.add_argument("model")
    r.add_argument("--alias", default=registry.PRODUCTION)
    return p


if __name__ == "__main__":
    sys.exit(cli.run(main, build_parser().parse_args()))
