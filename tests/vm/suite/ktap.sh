# ktap.sh: KTAP output for shell tests in the sandbox (sourced).
#   ok_if NAME CMD...   run CMD; "ok N NAME" if it succeeds, else "not ok N NAME"
#   ktap_ok NAME / ktap_fail NAME [WHY] / ktap_skip NAME WHY
ktap_n=0
ktap_failed=0
ktap_ok() { ktap_n=$((ktap_n + 1)); echo "ok $ktap_n $1"; }
ktap_fail() {
	ktap_n=$((ktap_n + 1)); ktap_failed=$((ktap_failed + 1))
	echo "not ok $ktap_n $1"
	[ -n "${2:-}" ] && echo "# $2"
	return 0
}
ktap_skip() { ktap_n=$((ktap_n + 1)); echo "ok $ktap_n $1 # SKIP $2"; }
ok_if() {
	name=$1; shift
	if "$@"; then ktap_ok "$name"; else ktap_fail "$name"; fi
}
