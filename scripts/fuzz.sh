#!/bin/bash
# Run each libFuzzer target (build-fuzz/NAME_fuzz) for SECONDS on its seed
# corpus (fuzz/corpus/NAME) plus what earlier runs kept
# (build-fuzz/corpus/NAME). Any crash, leak or sanitizer report fails;
# the input that caused it is left as build-fuzz/NAME-crash-*.
#   scripts/fuzz.sh SECONDS NAME...
set -u
# Run from the tree without make too: the suppressions that make exports.
: "${LSAN_OPTIONS:=suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}"
export LSAN_OPTIONS
secs=$1
shift
status=0
for n in "$@"; do
	mkdir -p "build-fuzz/corpus/$n"
	log="build-fuzz/$n.log"
	"build-fuzz/${n}_fuzz" -max_total_time="$secs" -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="build-fuzz/$n-" "build-fuzz/corpus/$n" "fuzz/corpus/$n" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc -eq 0 ]; then
		echo "fuzz: $n: ${runs:-?} inputs in $secs s, no finding"
	else
		echo "fuzz: $n: FAILED (exit $rc), see $log:"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20
		status=1
	fi
done
exit $status
