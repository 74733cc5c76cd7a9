# SPDX-License-Identifier: Apache-2.0
# Table rows of kx-vs-kubectl benchmarks (sourced by bench/run and bench/proxy).
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.3f' % (a/b if b else 0))" "$1" "$2"; }
row() { # label, unit, kx value, kubectl value
	printf '| %s | %s %s | %s %s | %s |\n' "$1" "$3" "$2" "$4" "$2" "$(ratio "$3" "$4")"
}
