#!/usr/bin/env bash
# Regenerates the Go code of the data plane's gRPC services from their
# protos: the admin service (admin/adminpb) and the internal broker service
# (broker/brokerrpc/brokerpb). `make gen` runs it; run it by hand after
# editing a proto. The generated files are committed, so building Orbit never needs
# protoc.
#
# Needs protoc with the well-known types (Debian: apt-get install
# protobuf-compiler libprotobuf-dev) and Go. The two Go plugins are used at the
# pinned versions below: from PATH when they report exactly that version,
# otherwise installed with `go install` into a temporary GOBIN that is removed
# afterwards.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12    # google.golang.org/protobuf, as in go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1 # google.golang.org/grpc/cmd/protoc-gen-go-grpc
# The committed code was generated with this protoc; its version is written
# into the file headers, so another version shows up as a diff.
PROTOC_VERSION="libprotoc 3.21.12"

cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v protoc >/dev/null; then
	echo "protogen.sh: protoc not found (Debian: apt-get install protobuf-compiler libprotobuf-dev)" >&2
	exit 1
fi
if [[ "$(protoc --version)" != "$PROTOC_VERSION" ]]; then
	echo "protogen.sh: warning: $(protoc --version) is not $PROTOC_VERSION; the generated headers will differ" >&2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# plugin NAME VERSION PACKAGE prints the path of a plugin binary at VERSION.
plugin() {
	local name=$1 version=$2 pkg=$3 have
	if command -v "$name" >/dev/null; then
		# protoc-gen-go prints "protoc-gen-go v1.36.12", protoc-gen-go-grpc "protoc-gen-go-grpc 1.5.1".
		have="$("$name" --version 2>/dev/null || true)"
		if [[ "$have" == *" $version" || "$have" == *" ${version#v}" ]]; then
			command -v "$name"
			return
		fi
	fi
	GOBIN="$tmp" GOFLAGS= go install "$pkg@$version" >&2
	echo "$tmp/$name"
}

gen_go="$(plugin protoc-gen-go "$PROTOC_GEN_GO_VERSION" google.golang.org/protobuf/cmd/protoc-gen-go)"
gen_go_grpc="$(plugin protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" google.golang.org/grpc/cmd/protoc-gen-go-grpc)"

# generate DIR PROTO regenerates the Go files next to DIR/PROTO.
generate() {
	local dir=$1 proto=$2
	protoc \
		--proto_path="$dir" \
		--plugin=protoc-gen-go="$gen_go" \
		--plugin=protoc-gen-go-grpc="$gen_go_grpc" \
		--go_out="$dir" --go_opt=paths=source_relative \
		--go-grpc_out="$dir" --go-grpc_opt=paths=source_relative \
		"$proto"
	echo "protogen.sh: regenerated dataplane/$dir"
}

generate admin/adminpb admin.proto
generate broker/brokerrpc/brokerpb broker.proto
