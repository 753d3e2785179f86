#!/bin/sh
# tests/oracle/run-samples.sh - run build/oracle on every sample trace and
# compare with the sample's own header:
#   # args: ARGS         (optional) extra oracle arguments
#   # expect: OK         exit 0, summary ends in OK
#   # expect: FAIL: TEXT exit 1, summary contains TEXT
# Prints TAP. Usage: tests/oracle/run-samples.sh [path/to/oracle]
oracle=${1:-build/oracle}
dir=$(dirname "$0")/samples
n=0; failed=0
set -- "$dir"/*.trace
echo "1..$#"
for t in "$@"; do
	n=$((n + 1))
	name=$(basename "$t" .trace)
	args=$(sed -n 's/^# args: *//p' "$t" | head -n 1)
	expect=$(sed -n 's/^# expect: *//p' "$t" | head -n 1)
	# shellcheck disable=SC2086
	out=$("$oracle" $args < "$t" 2>&1); rc=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	case "$expect" in
	OK) [ $rc -eq 0 ] && case "$last" in *" OK") true ;; *) false ;; esac ;;
	FAIL:*) want=${expect#FAIL: }
		[ $rc -eq 1 ] && case "$last" in *"FAIL: "*"$want"*) true ;; *) false ;; esac ;;
	*) false ;;
	esac
	if [ $? -eq 0 ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name (expected $expect, exit $rc)"
		echo "#   $last"
		failed=$((failed + 1))
	fi
done
[ $failed -eq 0 ]
