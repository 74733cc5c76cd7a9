#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Installation and packaging: `cmake --install` into a scratch prefix (binary,
# libkx shared+static, headers, libkx.pc, completions where the shells look,
# man page, kubectl plugin), a program built against libkx with pkg-config,
# the man page rendered and checked against the command tables, every --help,
# and the .deb built by CPack: its Depends against its ELF files' needs, its
# contents unpacked (dpkg -x) and run.

setup_file() {
	load helpers
	BUILD_DIR=$(cd "$(dirname "$KX_BIN")" && pwd)
	export BUILD_DIR
	export PREFIX=$BATS_FILE_TMPDIR/prefix
	[ -f "$BUILD_DIR/CMakeCache.txt" ] || skip "KX_BIN is not in a CMake build directory"
	cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$BATS_FILE_TMPDIR/install.log"
}

setup() {
	load helpers
	[ -f "$BUILD_DIR/CMakeCache.txt" ] || skip "KX_BIN is not in a CMake build directory"
	# A sanitizer build's libkx needs its programs built with the same runtime.
	CC_SAN=
	grep -q '^KX_SANITIZE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" && CC_SAN=-fsanitize=address,undefined
	true
}

# Every command path: the commands completion offers at the top level, and the
# subcommands each one's help lists ("config view", …); hidden ones excluded.
command_paths() {
	local c s
	for c in $(kx __complete '' | grep -v '^:' | cut -f1); do
		echo "$c"
		for s in $(kx "$c" --help | sed -n '/^Available Commands:/,/^$/p' | awk 'NF && !/:$/ {print $1}'); do
			echo "$c $s"
		done
	done
}

@test "cmake --install puts every part where it belongs" {
	for f in bin/kx bin/kubectl_complete-kx lib/libkx.a lib/libkx.so.0.1.0 include/kx/client.h \
		include/kx/common.h lib/pkgconfig/libkx.pc share/man/man1/kx.1 \
		share/bash-completion/completions/kx share/zsh/site-functions/_kx \
		share/fish/vendor_completions.d/kx.fish share/doc/kx/LICENSE; do
		[ -s "$PREFIX/$f" ] || { echo "missing: $f" >&2; return 1; }
	done
	assert_equal "$(readlink "$PREFIX/bin/kubectl-kx")" kx
	assert_equal "$(readlink "$PREFIX/lib/libkx.so")" libkx.so.0
	run "$PREFIX/bin/kx" version --client
	assert_output "Client Version: $("$KX_BIN" version --client | cut -d' ' -f3)"
	# The installed scripts are what `kx completion` prints.
	assert_equal "$(cat "$PREFIX/share/bash-completion/completions/kx")" "$(kx completion bash)"
	assert_equal "$(cat "$PREFIX/share/zsh/site-functions/_kx")" "$(kx completion zsh)"
	assert_equal "$(cat "$PREFIX/share/fish/vendor_completions.d/kx.fish")" "$(kx completion fish)"
}

@test "pkg-config: a program built with pkg-config --cflags --libs libkx runs (shared, and static libkx)" {
	cat >"$BATS_TEST_TMPDIR/hello.c" <<-'EOF'
		#include <kx/client.h>
		#include <stdio.h>
		int main(void)
		{
			printf("libkx %s: %s\n", kx_version(), kx_strerror(KX_ERR_TIMEOUT));
			return 0;
		}
	EOF
	export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
	run pkg-config --modversion libkx
	assert_output "$(kx version --client | cut -d' ' -f3 | sed 's/^v//')"
	# shellcheck disable=SC2046
	cc $CC_SAN -o "$BATS_TEST_TMPDIR/hello" "$BATS_TEST_TMPDIR/hello.c" $(pkg-config --cflags --libs libkx)
	run env LD_LIBRARY_PATH="$PREFIX/lib" "$BATS_TEST_TMPDIR/hello"
	assert_success
	assert_output --regexp '^libkx v[0-9]+\.[0-9]+\.[0-9]+: .+'
	run env LD_LIBRARY_PATH="$PREFIX/lib" ldd "$BATS_TEST_TMPDIR/hello"
	assert_line --partial "libkx.so.0 => $PREFIX/lib/libkx.so.0"
	# Static libkx, every object of it (--whole-archive), with only the libraries
	# libkx.pc names (Requires, Requires.private, Libs.private) linked shared: a
	# dependency missing from the .pc file fails this link.
	local pc=$PREFIX/lib/pkgconfig/libkx.pc
	# shellcheck disable=SC2046
	cc $CC_SAN -o "$BATS_TEST_TMPDIR/hello-static" "$BATS_TEST_TMPDIR/hello.c" $(pkg-config --cflags libkx) \
		-Wl,--whole-archive "$PREFIX/lib/libkx.a" -Wl,--no-whole-archive \
		$(pkg-config --libs $(pkg-config --print-requires libkx) $(pkg-config --print-requires-private libkx)) \
		$(sed -n 's/^Libs\.private: //p' "$pc")
	run "$BATS_TEST_TMPDIR/hello-static"
	assert_success
	run ldd "$BATS_TEST_TMPDIR/hello-static"
	refute_output --partial libkx
}

@test "installed completions are found by the shells' own loaders" {
	# bash-completion loads completions/kx on demand from XDG_DATA_DIRS.
	run env XDG_DATA_DIRS="$PREFIX/share" bash --norc --noprofile -c \
		'. /usr/share/bash-completion/bash_completion; __load_completion kx; complete -p kx'
	assert_output --partial '-F _kx kx'
	# zsh: the site-functions directory on fpath, compinit binds _kx to kx.
	run zsh -fc "fpath=('$PREFIX/share/zsh/site-functions' \$fpath); autoload -U compinit; compinit -D; print -r -- \$_comps[kx]"
	assert_output _kx
	# fish: vendor_completions.d under XDG_DATA_DIRS (a scratch HOME: no user config).
	run env HOME="$BATS_TEST_TMPDIR" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/.config" PATH="$PREFIX/bin:$PATH" \
		XDG_DATA_DIRS="$PREFIX/share" fish -c 'complete -C "kx vers"'
	assert_output --regexp '^version	'
}

@test "man: kx(1) renders without warnings and has every command and every flag of the tables" {
	run groff -ww -man -z "$PREFIX/share/man/man1/kx.1"
	assert_success
	assert_output ''
	page=$(MANWIDTH=200 man -l "$PREFIX/share/man/man1/kx.1" 2>/dev/null)
	grep -q '^KX(1)' <<<"$page"
	run env MANPATH="$PREFIX/share/man" MANWIDTH=200 man kx
	assert_success
	assert_line --regexp '^NAME'
	n=0
	while read -r path; do
		# shellcheck disable=SC2086
		grep -qE "^ +kx $path\$" <<<"$page" || { echo "man: no section for kx $path" >&2; return 1; }
		# shellcheck disable=SC2086
		for f in $(kx __complete -- $path -- | grep -v '^:' | cut -f1); do
			grep -qE -- "(^|[ ,])$f(=|,|\$| )" <<<"$page" || { echo "man: kx $path: $f missing" >&2; return 1; }
			n=$((n + 1))
		done
	done < <(command_paths)
	[ "$n" -gt 40 ]
	# The page is what `kx __man` prints now: the installed one cannot be stale.
	assert_equal "$(cat "$PREFIX/share/man/man1/kx.1")" "$(kx __man)"
}

@test "every command's --help runs and shows its examples and usage" {
	n=0
	while read -r path; do
		# shellcheck disable=SC2086
		run kx $path --help
		assert_success
		assert_line 'Examples:'
		assert_line 'Usage:'
		assert_line --regexp "^  kx $path"
		n=$((n + 1))
	done < <(command_paths)
	[ "$n" -ge 10 ]
}

@test "kubectl plugin: kubectl kx runs kx through the kubectl-kx link, and kubectl completes kubectl kx" {
	run env PATH="$PREFIX/bin:$PATH" "$KUBECTL" kx version --client
	assert_success
	assert_output "Client Version: $(kx version --client | cut -d' ' -f3)"
	run env PATH="$PREFIX/bin:$PATH" "$KUBECTL" plugin list
	assert_output --partial "$PREFIX/bin/kubectl-kx"
	need_cluster
	# kubectl's plugin completion asks kubectl_complete-kx, which asks kx __complete.
	run env PATH="$PREFIX/bin:$PATH" "$KUBECTL" __complete kx exec web-0 -c ''
	assert_line web
	assert_line sidecar
	assert_line ':4'
}

@test "deb: CPack builds a package whose Depends cover every library its ELF files need; unpacked, it runs" {
	out=$BATS_TEST_TMPDIR/deb
	run cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$out"
	assert_success
	deb=$(ls "$out"/kx_*.deb)
	run dpkg-deb -f "$deb" Package Depends
	assert_line 'Package: kx'
	depends=$(dpkg-deb -f "$deb" Depends)
	for p in libc6 libcurl4 libcjson1 libyaml-0-2 libssl3; do
		grep -qE "(^|, )$p( |,|\$)" <<<"$depends" || { echo "Depends lacks $p: $depends" >&2; return 1; }
	done
	root=$BATS_TEST_TMPDIR/root
	dpkg-deb -x "$deb" "$root"
	# Every shared library the packaged ELF files need comes from a package in Depends.
	for elf in "$root/usr/bin/kx" "$root/usr/lib/libkx.so.0.1.0"; do
		for so in $(objdump -p "$elf" | awk '/NEEDED/ {print $2}'); do
			path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64/ {print $NF; exit}')
			[ -n "$path" ] || { echo "$so: not on this system" >&2; return 1; }
			pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
			[ -n "$pkg" ] || pkg=$(dpkg -S "$path" | head -1 | cut -d: -f1)
			grep -qE "(^|, )$pkg( |,|\$)" <<<"$depends" ||
				{ echo "$elf needs $so from $pkg, not in Depends: $depends" >&2; return 1; }
		done
	done
	run "$root/usr/bin/kx" version --client
	assert_success
	assert_output --regexp '^Client Version: v'
	assert_equal "$(readlink "$root/usr/bin/kubectl-kx")" kx
	[ -s "$root/usr/share/man/man1/kx.1" ]
	[ -s "$root/usr/share/bash-completion/completions/kx" ]
	[ -s "$root/usr/share/zsh/vendor-completions/_kx" ]
	[ -s "$root/usr/share/fish/vendor_completions.d/kx.fish" ]
	# The relocatable libkx.pc works from the unpacked tree too.
	export PKG_CONFIG_PATH=$root/usr/lib/pkgconfig
	printf '#include <kx/common.h>\n#include <stdio.h>\nint main(void){puts(kx_version());return 0;}\n' >"$BATS_TEST_TMPDIR/v.c"
	# shellcheck disable=SC2046
	cc $CC_SAN -o "$BATS_TEST_TMPDIR/v" "$BATS_TEST_TMPDIR/v.c" $(pkg-config --cflags --libs libkx)
	run env LD_LIBRARY_PATH="$root/usr/lib" "$BATS_TEST_TMPDIR/v"
	assert_output "$(kx version --client | cut -d' ' -f3)"
}
