"""Print the pinned requirements of pyproject.toml (dependencies + the given extras), one per
line. The images install these in a layer that depends on pyproject.toml alone, so editing code
or the README does not reinstall torch and mlflow."""

import argparse
import tomllib

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("extras", nargs="*", help="optional-dependency groups, e.g. serving onnx hf")
parser.add_argument("--pyproject", default="pyproject.toml", help="default: ./pyproject.toml")
args = parser.parse_args()
with open(args.pyproject, "rb") as fh:
    project = tomllib.load(fh)["project"]
extras = project.get("optional-dependencies", {})
unknown = [e for e in args.extras if e not in extras]
if unknown:
    parser.error(f"unknown extra(s) {unknown}; pyproject.toml has {sorted(extras)}")
print("\n".join(project["dependencies"] + [r for e in args.extras for r in extras[e]]))
