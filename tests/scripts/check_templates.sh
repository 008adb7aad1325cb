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
exit $status
