// gorender renders Go text/template cases for carpool's differential tests.
//
// It reads a JSON list of cases on stdin:
//
//	{"name": "t", "template": "...", "data": ..., "option": "missingkey=zero",
//	 "ints": false, "parses": ["more text"], "exec": "name", "delims": ["[[", "]]"]}
//
// and writes a JSON list of results, one per case: {"output": "..."} or
// {"output": "partial output", "error": "template: ..."}.
//
// Data numbers are float64 (what dgr gets from YAML) unless "ints" is true, in
// which case integral numbers become Go ints. Only the standard library is used.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"text/template"
)

type testCase struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
	Option   string          `json:"option"`
	Ints     bool            `json:"ints"`
	Parses   []string        `json:"parses"`
	Exec     string          `json:"exec"`
	Delims   []string        `json:"delims"`
}

type result struct {
	Output string  `json:"output"`
	Error  *string `json:"error,omitempty"`
}

// Test functions mirrored by tests/templater/engine/gofuncs.py.
var funcs = template.FuncMap{
	"add":    func(a, b int) int { return a + b },
	"addf":   func(a, b float64) float64 { return a + b },
	"concat": func(a string, rest ...string) string { return a + strings.Join(rest, "") },
	"fail": func(msg string) (string, error) {
		return "", errors.New(msg)
	},
	"nilval":   func() interface{} { return nil },
	"strs":     func() []string { return []string{"x", "y"} },
	"smap":     func() map[string]string { return map[string]string{"k": "v", "a": "b"} },
	"adder":    func() func(int, int) int { return func(a, b int) int { return a + b } },
	"variadic": func(xs ...interface{}) int { return len(xs) },
	"i64":      func(x int) int64 { return int64(x) },
	"u8":       func(x int) uint8 { return uint8(x) },
	"ident":    func(x interface{}) interface{} { return x },
	"tolist":   func(xs ...interface{}) []interface{} { return xs },
}

func convert(v interface{}) interface{} {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		if f == math.Trunc(f) && math.Abs(f) < 1e18 && !strings.ContainsAny(string(x), ".eE") {
			return int(f)
		}
		return f
	case map[string]interface{}:
		for k, e := range x {
			x[k] = convert(e)
		}
		return x
	case []interface{}:
		for i, e := range x {
			x[i] = convert(e)
		}
		return x
	}
	return v
}

func decode(raw json.RawMessage, ints bool) (interface{}, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var v interface{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if ints {
		dec.UseNumber()
	}
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if ints {
		v = convert(v)
	}
	return v, nil
}

func run(c testCase) (res result) {
	var out bytes.Buffer
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("panic: %v", r)
			res = result{Output: out.String(), Error: &msg}
		}
	}()
	fail := func(err error) result {
		msg := err.Error()
		return result{Output: out.String(), Error: &msg}
	}
	name := c.Name
	if name == "" {
		name = "t"
	}
	t := template.New(name).Funcs(funcs)
	if len(c.Delims) == 2 {
		t.Delims(c.Delims[0], c.Delims[1])
	}
	if c.Option != "" {
		t.Option(c.Option)
	}
	if _, err := t.Parse(c.Template); err != nil {
		return fail(err)
	}
	for _, more := range c.Parses {
		if _, err := t.Parse(more); err != nil {
			return fail(err)
		}
	}
	data, err := decode(c.Data, c.Ints)
	if err != nil {
		return fail(err)
	}
	if c.Exec != "" {
		err = t.ExecuteTemplate(&out, c.Exec, data)
	} else {
		err = t.Execute(&out, data)
	}
	if err != nil {
		return fail(err)
	}
	return result{Output: out.String()}
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "gorender: bad input:", err)
		os.Exit(2)
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		results[i] = run(c)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "gorender:", err)
		os.Exit(2)
	}
}
