package devnode

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	thingsdb "github.com/thingsdb/go-thingsdb"
)

// Client is a connection to the node as its admin.
type Client struct {
	conn *thingsdb.Conn
}

// Connect logs in to the node on 127.0.0.1:port, waiting for one that is
// still starting.
func Connect(ctx context.Context, port int, timeout time.Duration) (*Client, error) {
	deadline := time.Now().Add(timeout)
	for {
		conn := thingsdb.NewConn("127.0.0.1", uint16(port), nil)
		conn.AutoReconnect = false
		conn.PingInterval = 0
		conn.DefaultTimeout = time.Minute
		conn.LogLevel = thingsdb.LogError
		err := conn.Connect()
		if err == nil {
			if err = conn.AuthPassword(Admin[0], Admin[1]); err == nil {
				return &Client{conn: conn}, nil
			}
			conn.Close()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cannot log in to the node on 127.0.0.1:%d: %v", port, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close ends the connection.
func (c *Client) Close() { c.conn.Close() }

// Install creates the module from source, with conf unless it is nil.
func (c *Client) Install(name, source string, conf any) error {
	vars := map[string]any{"name": name, "source": source}
	code := "new_module(name, source);"
	if conf != nil {
		vars["conf"], code = conf, "new_module(name, source, conf);"
	}
	_, err := c.conn.Query("@thingsdb", code, vars)
	return err
}

// Refresh makes the node fetch the module again (it re-installs when the
// version differs).
func (c *Client) Refresh(name string) error {
	_, err := c.conn.Query("@thingsdb", "refresh_module(name);", map[string]any{"name": name})
	return err
}

// Passing statuses come and go while a module installs or restarts; any
// other but running is the install's answer.
var passing = map[string]bool{
	"installing module...": true,
	"module not loaded":    true,
	"stopping module...":   true,
	"running":              true,
}

// StatusError is a module that did not reach running.
type StatusError struct {
	Name, Status string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("the install failed: module %s is %q", e.Name, e.Status)
}

// WaitRunning waits until the module runs version and answers calls: a
// module with a configuration is refused them until it took it, and one that
// exits at start has its calls cancelled until ThingsDB gives up on it.
func (c *Client) WaitRunning(ctx context.Context, name, version string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		status, installed, err := c.status(name)
		if err != nil {
			return err
		}
		if !passing[status] {
			return &StatusError{name, status}
		}
		if installed == version && status == "running" && c.answers(name) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("module %s is still %q (version %s) after %s", name, status, installed, timeout)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// answers reports whether the module itself answers a call (naming no
// function, it answers with an error of its own).
func (c *Client) answers(name string) bool {
	_, err := c.conn.Query("@:stuff", name+"({}).then(|r| r);", nil)
	var tiErr *thingsdb.TiError
	if err == nil || !errors.As(err, &tiErr) {
		return err == nil
	}
	return tiErr.Code() != thingsdb.OperationError && tiErr.Code() != thingsdb.CancelledError
}

// status is the module's status and installed version.
func (c *Client) status(name string) (status, version string, err error) {
	value, err := c.conn.Query("@thingsdb", "module_info(name);", map[string]any{"name": name})
	if err != nil {
		return "", "", err
	}
	info, _ := value.(map[string]any)
	status, _ = info["status"].(string)
	switch v := info["version"].(type) {
	case nil:
	case string:
		version = v
	case float64:
		version = strconv.FormatFloat(v, 'g', -1, 64)
	default:
		version = fmt.Sprint(v)
	}
	return status, version, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
