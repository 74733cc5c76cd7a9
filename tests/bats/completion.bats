#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Shell completion: `kx completion bash|zsh|fish` scripts driven in real shells
# (bash with bash-completion, zsh with compinit in tmux, fish's complete -C),
# with live names from the test cluster, the offline fallback with the server
# down or silent, and kx's `__complete` compared with kubectl's.

setup() {
	load helpers
	# The scripts call "kx" as typed: put the binary under test on PATH by that name.
	BIN=$BATS_TEST_TMPDIR/bin
	mkdir -p "$BIN"
	ln -sf "$KX_BIN" "$BIN/kx"
	export PATH=$BIN:$PATH
	TMUX_SOCK=
}

teardown() {
	[ -z "$TMUX_SOCK" ] || tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	[ -z "${SILENT_PID:-}" ] || kill "$SILENT_PID" 2>/dev/null || true
	[ ! -s "$BATS_TEST_TMPDIR/plugin.pid" ] || kill "$(cat "$BATS_TEST_TMPDIR/plugin.pid")" 2>/dev/null || true
}

# A copy of the test kubeconfig whose server is a dead port (connection refused).
dead_kubeconfig() {
	sed "s#127.0.0.1:$KX_TEST_APISERVER_PORT#127.0.0.1:${KX_TEST_DEAD_PORT:-18099}#" "$KUBECONFIG" \
		>"$BATS_TEST_TMPDIR/dead.kubeconfig"
	echo "$BATS_TEST_TMPDIR/dead.kubeconfig"
}

# bash: complete LINE (up to the cursor at its end) the way readline does — the
# words split at blanks and at COMP_WORDBREAKS' '=' and ':' — with
# bash-completion loaded, and print COMPREPLY one a line.
bash_complete() {
	timeout 20 bash --norc --noprofile -c '
		. /usr/share/bash-completion/bash_completion
		. <(kx completion bash)
		COMP_LINE=$1 COMP_POINT=${#1}
		read -ra COMP_WORDS <<<"$(sed -E "s/([=:])/ \\1 /g" <<<"$1")"
		[[ $1 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_kx kx "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$1"
}

# fish: its own completion of LINE, candidates only (no descriptions).
fish_complete() {
	timeout 20 fish --no-config -c 'kx completion fish | source; complete -C $argv[1]' "$1" | cut -f1
}

# tmux on a socket of this test's own: an interactive shell, keys typed into it.
tmux_start() { # command...
	TMUX_SOCK=kx-complete-$$-$BATS_TEST_NUMBER
	# In a directory holding one file: a file completion would insert it.
	mkdir -p "$BATS_TEST_TMPDIR/cwd"
	: >"$BATS_TEST_TMPDIR/cwd/onlyfile"
	tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -c "$BATS_TEST_TMPDIR/cwd" -x 160 -y 40 "$@"
}
# Wait until the pane shows a line matching the regex (polling, up to 20 s).
tmux_wait() {
	for _ in $(seq 200); do
		tmux -L "$TMUX_SOCK" capture-pane -p -N | grep -qE "$1" && return 0
		sleep 0.1
	done
	echo "pane never matched /$1/:" >&2
	tmux -L "$TMUX_SOCK" capture-pane -p >&2
	return 1
}

# Type LINE and Tab, then a marker X: the pane must show EXPECTED followed by X
# (the space the shell adds after a finished word shows as " X"). Keys are
# handled in order, so X comes only after the completion has run.
tmux_tab() { # line expected
	tmux -L "$TMUX_SOCK" send-keys C-u "$1" Tab X
	tmux_wait "^READY> $2X *\$"
}

zsh_start() {
	mkdir -p "$BATS_TEST_TMPDIR/zdot"
	cat >"$BATS_TEST_TMPDIR/zdot/.zshrc" <<-'EOF'
		PROMPT='READY> '
		autoload -U compinit && compinit -u -D
		source <(kx completion zsh)
	EOF
	tmux_start env ZDOTDIR="$BATS_TEST_TMPDIR/zdot" PATH="$PATH" KUBECONFIG="$1" zsh -i
	tmux_wait '^READY> '
}

bash_start() {
	cat >"$BATS_TEST_TMPDIR/bashrc" <<-'EOF'
		PS1='READY> '
		. /usr/share/bash-completion/bash_completion
		. <(kx completion bash)
	EOF
	tmux_start env PATH="$PATH" KUBECONFIG="$1" bash --noprofile --rcfile "$BATS_TEST_TMPDIR/bashrc" -i
	tmux_wait '^READY> '
}

@test "kx completion prints a script each shell accepts; a bad shell is a one-line usage error" {
	run kx completion bash
	assert_success
	bash -n <<<"$output"
	run kx completion zsh
	assert_success
	assert_line --index 0 '#compdef kx'
	zsh -n <<<"$output"
	run kx completion fish
	assert_success
	fish --no-execute <<<"$output"
	run kx completion tcsh
	assert_failure 1
	assert_line --index 0 'error: unsupported shell type "tcsh"'
	run kx completion
	assert_failure 1
	assert_line --index 0 --partial 'error: exactly one argument is required'
}

@test "__complete: the top level offers every command kx help lists, and only those" {
	run kx __complete ''
	assert_success
	assert_line --index -1 ':4'
	got=$(grep -v '^:' <<<"$output" | cut -f1 | sort)
	want=$(kx help | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/^Commands:/ {print $1}' | sort)
	[ -n "$want" ]
	assert_equal "$got" "$want"
	# With descriptions: the command's summary.
	assert_line "exec	Execute a command in a container"
}

@test "__complete: every flag of a command's --help and of kx options is offered after --" {
	for cmd in exec attach port-forward get version "config view"; do
		# shellcheck disable=SC2086
		got=$(kx __complete -- $cmd -- | cut -f1 | sort)
		# shellcheck disable=SC2086
		want=$({ kx $cmd --help; kx options; } | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' |
			grep -oE -- '--[a-z0-9-]+' | sort -u)
		[ -n "$want" ]
		for f in $want --help; do
			grep -qx -- "$f" <<<"$got" || { echo "$cmd: $f not offered" >&2; return 1; }
		done
	done
	# "-" also offers the shorthands.
	run kx __complete -- exec -
	assert_line --regexp '^-c	Container name'
	assert_line --regexp '^-n	'
}

@test "__complete: enumerated flag values, as a separate word and after --flag=" {
	run kx __complete -- get -o ''
	assert_equal "$(grep -v '^:' <<<"$output" | sort | tr '\n' ' ')" "json name wide yaml "
	run kx __complete -- get --output=y
	assert_output $'--output=yaml\n:4'
	run kx __complete -- version -oj
	assert_output $'-ojson\n:4'
	run kx __complete -- completion ''
	assert_output $'bash\nzsh\nfish\n:4'
}

@test "__complete: kubeconfig contexts, clusters, users and namespaces (no network needed)" {
	need_cluster
	kc=$(dead_kubeconfig)
	run kx __complete -- --kubeconfig "$kc" --context ''
	assert_line admin
	assert_line demo
	assert_line token
	run kx __complete -- --kubeconfig "$kc" --cluster=kx
	assert_line -- '--cluster=kx'
	assert_line -- '--cluster=kx-data'
	run kx __complete -- --kubeconfig "$kc" --user ''
	assert_line limited
	run kx __complete -- --kubeconfig "$kc" -n ''
	assert_line demo
	assert_line default
}

@test "__complete: live pods, containers, TYPE/NAME, namespaces — the same names kubectl offers" {
	need_cluster
	run kx __complete exec ''
	assert_line web-0
	assert_line solo
	assert_line 'deployments/'
	assert_equal "$(sort <<<"$output")" "$(kubectl __complete exec '' 2>/dev/null | sort)"
	run kx __complete -- exec web-0 -c ''
	assert_equal "$(sort <<<"$output")" "$(kubectl __complete exec web-0 -c '' 2>/dev/null | sort)"
	assert_line web
	assert_line sidecar
	run kx __complete -- port-forward svc/
	assert_equal "$(sort <<<"$output")" "$(kubectl __complete port-forward svc/ 2>/dev/null | sort)"
	run kx __complete -- port-forward deploy/w
	assert_output $'deploy/web\n:4'
	run kx __complete -- -n demo exec ''
	assert_line demo-0
	refute_line web-0
	run kx __complete -- -n ''
	assert_line kube-system
	# Only "TYPE/" left: no space after it.
	run kx __complete -- exec dep
	assert_output $'deployments/\n:6'
}

@test "bash: commands, subcommands, flags, values, pods, containers, TYPE/NAME, namespaces" {
	need_cluster
	run bash_complete 'kx ex'
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "exec expose "
	run bash_complete 'kx config '
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "current-context get-contexts view "
	run bash_complete 'kx exec --conta'
	assert_output -- --container
	run bash_complete 'kx get -o '
	assert_line json
	assert_line wide
	run bash_complete 'kx exec '
	assert_line web-0
	assert_line solo
	run bash_complete 'kx exec web-0 -c '
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "sidecar web "
	run bash_complete 'kx port-forward svc/w'
	assert_output svc/web
	# After a word break ('='), only the part after it is replaced.
	run bash_complete 'kx --namespace=de'
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "default demo "
	run bash_complete 'kx --context=admin-'
	assert_output admin-data
}

@test "bash, interactive (readline in tmux): Tab completes a pod and a container" {
	need_cluster
	bash_start "$KUBECONFIG"
	tmux_tab 'kx exec so' 'kx exec solo '
	tmux_tab 'kx exec web-0 -c si' 'kx exec web-0 -c sidecar '
	tmux_tab 'kx --namespace=dem' 'kx --namespace=demo '
	tmux_tab 'kx exec dep' 'kx exec deployments/'
	tmux_tab 'kx exec deployments/w' 'kx exec deployments/web '
	# A file flag: the shell's own file names (directive 0).
	: >"$BATS_TEST_TMPDIR/kubeconfig-for-tab"
	tmux_tab "kx --kubeconfig $BATS_TEST_TMPDIR/kubeconfig-fo" "kx --kubeconfig $BATS_TEST_TMPDIR/kubeconfig-for-tab "
	tmux_tab 'kx --kubeconfig onl' 'kx --kubeconfig onlyfile '
	# No file names where they mean nothing: the remote command, a pod.
	tmux_tab 'kx exec web-0 -- ' 'kx exec web-0 -- '
	tmux_tab 'kx exec onl' 'kx exec onl'
}

@test "zsh (compinit, in tmux): commands, pods, containers, flag values" {
	need_cluster
	zsh_start "$KUBECONFIG"
	tmux_tab 'kx port-f' 'kx port-forward '
	tmux_tab 'kx exec web-0 -c si' 'kx exec web-0 -c sidecar '
	tmux_tab 'kx get --output=ya' 'kx get --output=yaml '
	tmux_tab 'kx exec --conta' 'kx exec --container '
	tmux_tab 'kx port-forward svc/w' 'kx port-forward svc/web '
	tmux_tab 'kx exec dep' 'kx exec deployments/'
	: >"$BATS_TEST_TMPDIR/kubeconfig-for-tab"
	tmux_tab "kx --kubeconfig $BATS_TEST_TMPDIR/kubeconfig-fo" "kx --kubeconfig $BATS_TEST_TMPDIR/kubeconfig-for-tab "
	tmux_tab 'kx --kubeconfig onl' 'kx --kubeconfig onlyfile '
	tmux_tab 'kx exec web-0 -- ' 'kx exec web-0 -- '
	tmux_tab 'kx exec onl' 'kx exec onl'
	# Several candidates: listed under the line.
	tmux -L "$TMUX_SOCK" send-keys C-u 'kx exec ' Tab
	tmux_wait 'web-0'
	tmux_wait 'solo'
}

@test "fish: commands with descriptions, pods, containers, flag values, TYPE/NAME" {
	need_cluster
	run fish_complete 'kx '
	assert_line exec
	assert_line port-forward
	run timeout 20 fish --no-config -c 'kx completion fish | source; complete -C "kx ver"'
	assert_output $'version\tPrint the client and server version information'
	run fish_complete 'kx exec '
	assert_line web-0
	assert_line solo
	run fish_complete 'kx exec web-0 -c '
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "sidecar web "
	run fish_complete 'kx get -o '
	assert_line yaml
	run fish_complete 'kx port-forward deploy/'
	assert_output deploy/web
	run fish_complete 'kx -n de'
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "default demo "
	: >"$BATS_TEST_TMPDIR/kubeconfig-for-tab"
	run fish_complete "kx --kubeconfig $BATS_TEST_TMPDIR/kubeconfig-fo"
	assert_output "$BATS_TEST_TMPDIR/kubeconfig-for-tab"
}

@test "server down: bash, zsh and fish still offer commands, flags and kubeconfig names at once" {
	need_cluster
	export KUBECONFIG
	KUBECONFIG=$(dead_kubeconfig)
	run bash_complete 'kx ex'
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "exec expose "
	run bash_complete 'kx exec --st'
	assert_output -- --stdin
	run bash_complete 'kx -n '
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "default demo "
	run bash_complete 'kx exec '
	refute_line web-0
	assert_line deployments/
	run fish_complete 'kx exec --conta'
	assert_output -- --container
	run fish_complete 'kx --context '
	assert_line demo
	zsh_start "$KUBECONFIG"
	tmux_tab 'kx exec --contai' 'kx exec --container '
	tmux_tab 'kx -n dem' 'kx -n demo '
}

@test "server silent (accepts, never answers): completion ends at its budget (about 1 s), with the offline candidates" {
	need_cluster
	# A listener that never accepts: connect succeeds, TLS never starts.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); print("ok", flush=True); time.sleep(120)' "$port" \
		>"$BATS_TEST_TMPDIR/silent.out" &
	SILENT_PID=$!
	for _ in $(seq 50); do grep -q ok "$BATS_TEST_TMPDIR/silent.out" && break; sleep 0.1; done
	sed "s#127.0.0.1:$KX_TEST_APISERVER_PORT#127.0.0.1:$port#" "$KUBECONFIG" >"$BATS_TEST_TMPDIR/silent.kubeconfig"
	export KUBECONFIG=$BATS_TEST_TMPDIR/silent.kubeconfig
	unset KX_COMPLETE_TIMEOUT # the default budget (helpers.bash sets a long one)
	# The default budget is 0.8 s from the process's start, the hard stop 0.2 s
	# later: instant enough at a shell (kubectl hangs for many seconds here).
	# The bounds below hold on a slow machine too: the lower one says kx waited
	# for the server as long as its budget, the upper one that it did not wait
	# for the silent server (120 s; kubectl waits about a minute). bench/parts/
	# completion.sh measures it.
	start=$(date +%s%N)
	run kx __complete -- -n ''
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_success
	assert_output $'demo\ndefault\n:4'
	[ "$elapsed_ms" -ge 800 ] || fail "gave up after $elapsed_ms ms, before its 800 ms budget"
	[ "$elapsed_ms" -lt 5000 ] || fail "took $elapsed_ms ms"
	run kx __complete exec ''
	assert_success
	assert_line pods/
	assert_line --index -1 ':6' # "pods/": the name follows, no space
	# Another budget is honoured: a longer one is waited for in full.
	start=$(date +%s%N)
	KX_COMPLETE_TIMEOUT=2500ms run kx __complete -- exec web-0 -c ''
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_output ':4'
	[ "$elapsed_ms" -ge 2500 ] || fail "gave up after $elapsed_ms ms, before its 2500 ms budget"
	[ "$elapsed_ms" -lt 8000 ] || fail "took $elapsed_ms ms"
	# A budget too short for any answer still ends with a directive.
	KX_COMPLETE_TIMEOUT=1ms run kx __complete -- exec web-0 -c ''
	assert_output ':4'
}

@test "a credential plugin that never answers: completion still ends, with the offline candidates" {
	need_cluster
	cat >"$BATS_TEST_TMPDIR/plugin" <<-EOF
		#!/bin/sh
		echo \$\$ >"$BATS_TEST_TMPDIR/plugin.pid"
		exec sleep 60
	EOF
	chmod +x "$BATS_TEST_TMPDIR/plugin"
	cat >"$BATS_TEST_TMPDIR/kubeconfig" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		- name: kx
		  cluster: {server: "$KX_TEST_APISERVER", certificate-authority: "$KX_TEST_CA"}
		contexts:
		- name: stuck
		  context: {cluster: kx, user: stuck, namespace: demo}
		current-context: stuck
		users:
		- name: stuck
		  user:
		    exec: {apiVersion: client.authentication.k8s.io/v1, command: "$BATS_TEST_TMPDIR/plugin", interactiveMode: Never}
	EOF
	start=$(date +%s%N)
	# As the scripts run it: stderr discarded, stdout read to its end.
	run bash -c 'KX_COMPLETE_TIMEOUT=300ms KUBECONFIG=$1 kx __complete exec "" 2>/dev/null' _ "$BATS_TEST_TMPDIR/kubeconfig"
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	assert_success
	assert_line pods/
	# ":6" whether the budget (300 ms) or the hard stop after it ended the
	# answer: "pods/" is open-ended, the name follows with no space
	assert_line --index -1 ':6'
	[ -s "$BATS_TEST_TMPDIR/plugin.pid" ] # the plugin did run, and hung
	# 300 ms budget + 200 ms grace; a hang would be the plugin's 60 s.
	[ "$elapsed_ms" -lt 5000 ]
	kill "$(cat "$BATS_TEST_TMPDIR/plugin.pid")"
	run bash -c 'KX_COMPLETE_TIMEOUT=300ms KUBECONFIG=$1 kx __complete -- -n "" 2>/dev/null' _ "$BATS_TEST_TMPDIR/kubeconfig"
	assert_line demo
	assert_line default
}

@test "__complete: the words after -- and unknown commands offer nothing; bad input never fails" {
	run kx __complete -- exec web-0 -- ''
	assert_output ':4'
	run kx __complete -- nosuchcommand ''
	assert_output ':1'
	run kx __complete -- --nosuchflag ''
	assert_success
	run kx __complete
	assert_success
	assert_line --index -1 ':4'
	run kx __complete -- exec --container
	assert_output $'--container\tContainer name. If omitted, use the kubectl.kubernetes.io/default-container annotation, else the first container\n:4'
	# A file flag leaves the shell its file completion (directive 0).
	run kx __complete -- --kubeconfig ''
	assert_output ':0'
}

@test "__complete: odd words end with a directive line and exit 0, never a crash" {
	export KUBECONFIG
	KUBECONFIG=$(dead_kubeconfig)
	long=$(printf 'x%.0s' $(seq 600))
	for words in "-" "--" "--=" "-=" "---" "-c=" "-c=we" "-ic" "-it" "--namespace=" "--v=" \
		"exec -c" "exec --container=" "exec pod/ -c" "exec / -c" "exec /" "exec //" "exec -n" \
		"port-forward $long/" "exec -$long" "--$long=" "exec $long -c" "help help help" \
		"config view -o" "config nosuch" "completion x y"; do
		# shellcheck disable=SC2086
		run kx __complete -- $words ''
		assert_success
		assert_line --index -1 --regexp '^:[0-9]+$'
		# shellcheck disable=SC2086
		run kx __complete -- $words
		assert_success
		assert_line --index -1 --regexp '^:[0-9]+$'
	done
}
