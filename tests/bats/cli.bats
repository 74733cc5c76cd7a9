#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The command skeleton: help, version, unknown commands and flags, exit codes.

setup() { load helpers; }

@test "kx with no arguments prints help listing the commands, exit 0" {
	run kx
	assert_success
	assert_output --partial "Commands:"
	assert_output --partial "version"
}

@test "kx help and kx --help print the same command list" {
	run kx help
	assert_success
	local help_out=$output
	run kx --help
	assert_success
	assert_equal "$output" "$help_out"
}

@test "kx help version shows usage, examples and the command's options" {
	run kx help version
	assert_success
	assert_output --partial "Usage:"
	assert_output --partial "kx version [--client]"
	assert_output --partial "--client"
	assert_output --partial "Examples:"
}

@test "kx version --help equals kx help version" {
	run kx version --help
	assert_success
	local a=$output
	run kx help version
	assert_equal "$output" "$a"
}

@test "kx options lists the global flags" {
	run kx options
	assert_success
	assert_output --partial "--kubeconfig"
	assert_output --partial "-n, --namespace"
	assert_output --partial "--request-timeout"
}

@test "unknown command: one-line error like kubectl, exit 1" {
	run kx frobnicate
	assert_failure 1
	assert_line --index 0 'error: unknown command "frobnicate" for "kx"'
}

@test "unknown flag: error plus the usage hint, exit 1" {
	run kx version --frob
	assert_failure 1
	assert_line --index 0 "error: unknown flag: --frob"
	assert_line --index 1 "See 'kx version --help' for usage."
}

@test "unknown shorthand flag and a flag missing its value are usage errors" {
	run kx version -Z
	assert_failure 1
	assert_line --index 0 "error: unknown shorthand flag: 'Z' in -Z"
	run kx version -n
	assert_failure 1
	assert_line --index 0 "error: flag needs an argument: 'n' in -n"
	run kx version --output
	assert_failure 1
	assert_line --index 0 "error: flag needs an argument: --output"
}

@test "an enumerated flag refuses values outside its choices" {
	run kx version --client -o xml
	assert_failure 1
	assert_output --partial 'invalid argument "xml" for "-o, --output" flag: must be one of: json, yaml'
}

@test "kx version --client needs no cluster and no kubeconfig" {
	HOME=$BATS_TEST_TMPDIR KUBECONFIG= run kx version --client
	assert_success
	assert_output --regexp '^Client Version: v[0-9]+\.[0-9]+\.[0-9]+$'
}

@test "kx version --client -o json is JSON with clientVersion.gitVersion" {
	run kx version --client -o json
	assert_success
	run python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["clientVersion"]["gitVersion"])' <<<"$output"
	assert_success
	assert_output --regexp '^v[0-9]+\.'
}

@test "kx version --client -o yaml" {
	run kx version --client -o yaml
	assert_success
	assert_line --index 0 "clientVersion:"
	assert_output --partial "  gitVersion: v"
}

@test "global flags may come before the command, as in kubectl" {
	run kx --request-timeout 5s version --client
	assert_success
	assert_output --partial "Client Version:"
}

@test "kx version shows the server's version, the same one kubectl sees" {
	need_cluster
	run kx version
	assert_success
	local want
	want=$(kubectl version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')
	assert_line --index 1 "Server Version: $want"
}

@test "kx version against a refused port: client version, kubectl's refused message, exit 1" {
	run kx version --server https://127.0.0.1:1 --insecure-skip-tls-verify
	assert_failure 1
	assert_line --regexp '^Client Version: v'
	assert_line "Warning: insecure-skip-tls-verify is set: the server's certificate is not checked"
	assert_output --partial "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"
}
