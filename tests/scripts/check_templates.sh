#!/usr/bin/env bash
# Every CloudFormation/SAM template under templates/ passes cfn-lint with no errors and no
# warnings (informational findings are allowed). Usage: check_templates.sh TEMPLATES_DIR [PYTHON]
set -uo pipefail
dir=$1
python=${2:-python3}
if ! "$python" -c 'import cfnlint' 2>/dev/null; then
	echo "cfn-lint is not installed for $python (scripts/setup-deps.sh installs it)" >&2
	exit 1
fi
shopt -s nullglob
templates=("$dir"/*.yaml "$dir"/*.yml "$dir"/*.template)
if ((${#templates[@]} == 0)); then
	echo "no templates in $dir" >&2
	exit 1
fi
status=0
for t in "${templates[@]}"; do
	# --format parseable: one finding per line; I-level findings are not failures.
	out=$("$python" -c "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())" --format parseable -- "$t" 2>&1)
	rc=$?
	findings=$(printf '%s\n' "$out" | grep -E ':[EW][0-9]+:' || true)
	if [[ -n $findings ]] || ((rc != 0 && rc != 8)); then
		echo "FAIL $t" >&2
		printf '%s\n' "$out" >&2
		status=1
	else
		echo "ok   $t"
	fi
done

# SAM templates must also transform with aws-sam-translator (what `sam deploy` and
# CloudFormation's transform do). The translator wants s3:// code and definition URIs, which
# `sam package` substitutes for the local paths: so does this check.
for t in "${templates[@]}"; do
	grep -q 'AWS::Serverless-2016-10-31' "$t" || continue
	if ! out=$(AWS_DEFAULT_REGION=us-east-1 "$python" - "$t" 2>&1 <<'PY'
import json, re, sys
import yaml
from samtranslator.translator.transform import transform

class Loader(yaml.SafeLoader):
    pass

def tag(loader, suffix, node):
    name = "Fn::GetAtt" if suffix == "GetAtt" else ("Ref" if suffix == "Ref" else "Fn::" + suffix)
    if isinstance(node, yaml.ScalarNode):
        v = loader.construct_scalar(node)
        if suffix == "GetAtt":
            v = v.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        v = loader.construct_sequence(node, deep=True)
    else:
        v = loader.construct_mapping(node, deep=True)
    return {name: v}

Loader.add_multi_constructor("!", tag)
path = sys.argv[1]
with open(path) as f:
    tpl = yaml.load(f, Loader=Loader)

def packaged(node):
    # local CodeUri / DefinitionUri -> s3:// as `sam package` would
    if isinstance(node, dict):
        for k, v in list(node.items()):
            if k in ("CodeUri", "DefinitionUri") and isinstance(v, str) and not v.startswith("s3://"):
                node[k] = "s3://s3insights-artifacts/" + re.sub(r"[^A-Za-z0-9._-]", "_", v)
            else:
                packaged(v)
    elif isinstance(node, list):
        for v in node:
            packaged(v)

packaged(tpl)

class NoManagedPolicies:
    def load(self):
        return {}

out = transform(tpl, {}, NoManagedPolicies())
kinds = sorted({r["Type"] for r in out["Resources"].values()})
if any(k.startswith("AWS::Serverless::") for k in kinds):
    sys.exit("untransformed resources left: %s" % kinds)
print("%d resources: %s" % (len(out["Resources"]), ", ".join(kinds)))
PY
	); then
		echo "FAIL $t (aws-sam-translator)" >&2
		printf '%s\n' "$out" >&2
		status=1
	else
		echo "ok   $t (aws-sam-translator: $out)"
	fi
done
exit $status
