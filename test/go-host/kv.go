package main

// A hand-written client for proto.KV (examples/kv-plugin/proto/kv.proto): Debian ships no
// protoc-gen-go that matches its golang/protobuf 1.3, and that version marshals any struct whose
// fields carry protobuf tags, which is all that generated code adds for these messages.

import (
	"context"
	"errors"

	"github.com/golang/protobuf/proto"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

type GetRequest struct {
	Key string `protobuf:"bytes,1,opt,name=key,proto3"`
}

func (m *GetRequest) Reset()         { *m = GetRequest{} }
func (m *GetRequest) String() string { return proto.CompactTextString(m) }
func (*GetRequest) ProtoMessage()    {}

type GetResponse struct {
	Value []byte `protobuf:"bytes,1,opt,name=value,proto3"`
}

func (m *GetResponse) Reset()         { *m = GetResponse{} }
func (m *GetResponse) String() string { return proto.CompactTextString(m) }
func (*GetResponse) ProtoMessage()    {}

type PutRequest struct {
	Key   string `protobuf:"bytes,1,opt,name=key,proto3"`
	Value []byte `protobuf:"bytes,2,opt,name=value,proto3"`
}

func (m *PutRequest) Reset()         { *m = PutRequest{} }
func (m *PutRequest) String() string { return proto.CompactTextString(m) }
func (*PutRequest) ProtoMessage()    {}

type Empty struct{}

func (m *Empty) Reset()         { *m = Empty{} }
func (m *Empty) String() string { return proto.CompactTextString(m) }
func (*Empty) ProtoMessage()    {}

// KVClient calls proto.KV on the plugin's connection, as go-plugin's examples/grpc GRPCClient does.
type KVClient struct{ conn *grpc.ClientConn }

func (c *KVClient) Put(ctx context.Context, key string, value []byte) error {
	return c.conn.Invoke(ctx, "/proto.KV/Put", &PutRequest{Key: key, Value: value}, &Empty{})
}

func (c *KVClient) Get(ctx context.Context, key string) ([]byte, error) {
	var response GetResponse
	if err := c.conn.Invoke(ctx, "/proto.KV/Get", &GetRequest{Key: key}, &response); err != nil {
		return nil, err
	}
	return response.Value, nil
}

// KVPlugin is the host's half of the "kv" plugin: gRPC only, and only a client.
type KVPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (KVPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("this program only hosts the kv plugin")
}

func (KVPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	return &KVClient{conn: conn}, nil
}
