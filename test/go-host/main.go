// go-host: a go-plugin 1.0.1 host, as Terraform-style hosts use it, that launches the plugin
// command given after its flags, calls proto.KV Put and Get, then Kill()s the plugin (Shutdown
// through the controller, up to 2 s for it to exit, then SIGKILL).
//
//	go-host [-automtls] [-timeout 30s] -- <plugin command...>
//
// Stdout: one line per result. Stderr: go-plugin's hclog lines (the plugin's stderr among them,
// at debug level), then one `go-host:` verdict. Exits 0 only when every call succeeded and the
// plugin exited by itself with code 0 after Shutdown.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// The handshake of go-plugin's examples/grpc, which the example plugin expects.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "BASIC_PLUGIN",
	MagicCookieValue: "hello",
}

func main() {
	autoMTLS := flag.Bool("automtls", false, "let go-plugin negotiate mutual TLS (ClientConfig.AutoMTLS)")
	timeout := flag.Duration("timeout", 30*time.Second, "limit for the handshake and for the calls")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: go-host [-automtls] [-timeout 30s] -- <plugin command...>")
		os.Exit(2)
	}
	os.Exit(run(flag.Args(), *autoMTLS, *timeout))
}

func run(command []string, autoMTLS bool, timeout time.Duration) int {
	watch := &logWatch{out: os.Stderr}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          map[string]plugin.Plugin{"kv": &KVPlugin{}},
		Cmd:              exec.Command(command[0], command[1:]...),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         autoMTLS,
		StartTimeout:     timeout,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "go-host", Level: hclog.Debug, Output: watch}),
	})
	// Kill is go-plugin's graceful stop; it is also what a host does on any error.
	defer client.Kill()

	if err := calls(client, autoMTLS, timeout); err != nil {
		fmt.Fprintf(os.Stderr, "go-host: %v\n", err)
		return 1
	}

	client.Kill()
	switch exit := watch.verdict(); {
	case exit.forceKilled:
		fmt.Fprintln(os.Stderr, "go-host: the plugin did not exit within 2 s of Shutdown and was killed")
		return 1
	case !exit.seen:
		fmt.Fprintln(os.Stderr, "go-host: go-plugin did not report the plugin's exit")
		return 1
	case exit.err != "":
		fmt.Fprintf(os.Stderr, "go-host: the plugin exited after Shutdown with %s\n", exit.err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "go-host: the plugin exited by itself after Shutdown (code 0)")
	return 0
}

func calls(client *plugin.Client, autoMTLS bool, timeout time.Duration) error {
	rpcClient, err := client.Client() // launches, reads the handshake line, connects, pings health
	if err != nil {
		return fmt.Errorf("cannot start the plugin: %v", err)
	}
	raw, err := rpcClient.Dispense("kv")
	if err != nil {
		return fmt.Errorf("cannot dispense kv: %v", err)
	}
	kv := raw.(*KVClient)
	fmt.Printf("connected: protocol %s, version %d, automtls %t\n", client.Protocol(), client.NegotiatedVersion(), autoMTLS)

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, pair := range [][2]string{{"greeting", "hello"}, {"colour", "blue"}} {
		if err := kv.Put(ctx, pair[0], []byte(pair[1])); err != nil {
			return fmt.Errorf("Put %s: %v", pair[0], err)
		}
		fmt.Printf("put %s = %s\n", pair[0], pair[1])
	}
	for _, key := range []string{"greeting", "colour"} {
		value, err := kv.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("Get %s: %v", key, err)
		}
		fmt.Printf("get %s = %s\n", key, value)
	}
	return nil
}

// logWatch passes go-plugin's log lines through and notes the two that tell how the plugin ended:
// Kill's warning when it had to kill it, and the "plugin process exited" line (with an error
// when the exit code was not 0 or a signal ended it). go-plugin 1.0.1 has no API for either.
type logWatch struct {
	out     io.Writer
	mu      sync.Mutex
	partial []byte
	exit    pluginExit
}

type pluginExit struct {
	seen        bool
	err         string
	forceKilled bool
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		end := bytes.IndexByte(w.partial, '\n')
		if end < 0 {
			break
		}
		w.note(string(w.partial[:end]))
		w.partial = w.partial[end+1:]
	}
	return w.out.Write(p)
}

func (w *logWatch) note(line string) {
	switch {
	case bytes.Contains([]byte(line), []byte("plugin failed to exit gracefully")):
		w.exit.forceKilled = true
	case bytes.Contains([]byte(line), []byte("plugin process exited:")):
		w.exit.seen = true
		if i := bytes.Index([]byte(line), []byte(" error=")); i >= 0 {
			w.exit.err = line[i+len(" error="):]
		}
	}
}

func (w *logWatch) verdict() pluginExit {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.exit
}
