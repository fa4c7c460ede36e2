#!/usr/bin/env bash
# A stand-in for one side of `rcbench ab` (tests/cli_test.sh, part ab): it
# speaks the `_serve` protocol of harness/ab.cpp with fixed answers, named by
# how it is called (a link in the test's directory):
#   <side>-<ns>   every repetition takes <ns> ns per item
#   <side>-error  every repetition fails
#   <side>-die    ends after its greeting
#   <side>-slow   100 ns per item, 0.3 s a repetition (for the signal test)
#   <side>-unbound 100 ns per item, from a worker it could not pin to CPU 7
#   <side>-unbound-die the same for its first repetition, then it ends
name="$(basename "$0")"
mode="${name#*-}"
[[ ${1:-} == _serve ]] || { echo "fake_serve: only _serve" >&2; exit 2; }
echo '{"rcbench_serve":1,"version":"fake '"$name"'","cells":["w/s/threads:1","w/s/threads:2"],"notes":[]}'
[[ $mode == die ]] && exit 0
while read -r verb _cell _iterations; do
  case "$verb:$mode" in
    count:*) echo '{"iterations":4,"helper_threads":false}' ;;
    rep:error) echo '{"error":"checksum mismatch (fake)"}' ;;
    rep:unbound) echo '{"ns_per_item":100,"disturbed":false,"why":"","unbound":["CPU 7: not in the cpuset (fake)"]}' ;;
    rep:unbound-die) echo '{"ns_per_item":100,"disturbed":false,"why":"","unbound":["CPU 7: not in the cpuset (fake)"]}'; exit 0 ;;
    rep:slow) sleep 0.3; echo '{"ns_per_item":100,"disturbed":false,"why":""}' ;;
    rep:*) echo '{"ns_per_item":'"$mode"',"disturbed":false,"why":""}' ;;
  esac
done
