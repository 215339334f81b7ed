# shellcheck shell=bash
# Sourced by packaging/vm-test.
# Results and timings: every check is a PASS or FAIL line with its evidence,
# and the summary at the end lists them all.
declare -a r_name=() r_result=() r_evidence=() t_name=() t_secs=()
failed=0

result() {  # result PASS|FAIL name evidence
  local evidence=${3//$'\n'/; }
  r_result+=("$1"); r_name+=("$2"); r_evidence+=("$evidence")
  [ "$1" = PASS ] || failed=$((failed + 1))
  printf '%s: %s -- %s\n' "$1" "$2" "$evidence"
}

check() {  # check name evidence command... (evidence may name a file whose first line is used)
  local name=$1 evidence=$2; shift 2
  if "$@"; then result PASS "$name" "$evidence"; else result FAIL "$name" "$evidence"; return 1; fi
}

now() { date +%s.%N; }

timed() {  # timed label start
  local secs; secs=$(awk -v a="$2" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  t_name+=("$1"); t_secs+=("$secs"); echo "time: $1 ${secs}s"
}

step() { printf '\n== %s ==\n' "$*"; }

summary() {
  printf '\n== summary ==\n'
  local i
  for i in "${!r_name[@]}"; do printf '%-4s  %-52s  %s\n' "${r_result[$i]}" "${r_name[$i]}" "${r_evidence[$i]:0:110}"; done
  printf '\n%-40s %8s\n' "timing" "seconds"
  for i in "${!t_name[@]}"; do printf '%-40s %8s\n' "${t_name[$i]}" "${t_secs[$i]}"; done
  local passed=$(( ${#r_name[@]} - failed ))
  printf '\nvm-test: %d passed, %d failed\n' "$passed" "$failed"
}

abort() {  # a stage could not go on: the rest is not run
  result FAIL "stage stopped" "$*"
  exit 1
}
