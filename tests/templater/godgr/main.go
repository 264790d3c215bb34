// godgr renders test cases with Go's text/template and Go implementations of
// dgr's own template functions and gtf's, registered in dgr's orders, so that
// carpool's Python versions can be compared with real Go behaviour (argument
// conversion, printing, panics turned into errors). Standard library only.
//
// stdin: JSON list of {"template": "...", "data": ..., "context": "partial"|"attribute"}
// stdout: JSON list of {"output": "..."} or {"output": "...", "error": "..."}
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"text/template"
)

type testCase struct {
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
	Context  string          `json:"context"`
}

type result struct {
	Output string  `json:"output"`
	Error  *string `json:"error,omitempty"`
}

// ---- dgr's functions

func pairs(values ...interface{}) (map[interface{}]interface{}, error) {
	if len(values)%2 != 0 {
		return nil, errors.New("Missing value on key/value Pairs call")
	}
	m := make(map[interface{}]interface{})
	for i := 0; i < len(values); i += 2 {
		m[values[i]] = values[i+1]
	}
	return m, nil
}

func orDef(v, d interface{}) interface{} {
	if v != nil {
		return v
	}
	return d
}

func orDefs(v []interface{}, d interface{}) interface{} {
	if len(v) != 0 {
		return v
	}
	return []interface{}{d}
}

func ifOrDef(test, yes, no interface{}) interface{} {
	if test != nil {
		return yes
	}
	return no
}

func jsonObject(s string) (map[string]interface{}, error) {
	var m map[string]interface{}
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}

func jsonArray(s string) ([]interface{}, error) {
	var a []interface{}
	err := json.Unmarshal([]byte(s), &a)
	return a, err
}

func toJSON(v interface{}) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}

func typeOf(v interface{}) reflect.Type { return reflect.TypeOf(v) }

func isType(v interface{}, t string) bool {
	return typeOf(v) != nil && typeOf(v).String() == t
}

func isKind(v interface{}, k string) bool {
	return typeOf(v) != nil && typeOf(v).Kind().String() == k
}

func isMap(v interface{}) bool { return typeOf(v) != nil && typeOf(v).Kind() == reflect.Map }

func isArray(v interface{}) bool {
	if typeOf(v) == nil {
		return false
	}
	k := typeOf(v).Kind()
	return k == reflect.Slice || k == reflect.Array
}

func isString(v interface{}) bool {
	return typeOf(v) != nil && typeOf(v).Kind() == reflect.String
}

func isNil(v interface{}) bool { return typeOf(v) == nil }

func sortedKeys(m interface{}) []string {
	var keys []string
	for _, k := range reflect.ValueOf(m).MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	return keys
}

func isMapFirst(m interface{}, e interface{}) bool {
	if reflect.TypeOf(m).Kind() != reflect.Map {
		return false
	}
	return sortedKeys(m)[0] == e
}

func isMapLast(m interface{}, e interface{}) bool {
	if reflect.TypeOf(m).Kind() != reflect.Map {
		return false
	}
	keys := sortedKeys(m)
	return keys[len(keys)-1] == e
}

func howDeep(data interface{}, element interface{}) int { return howDeepAt(data, element, 0) }

func howDeepAt(data interface{}, element interface{}, deep int) int {
	if reflect.TypeOf(element).Kind() != reflect.Map {
		return deep
	}
	m := reflect.ValueOf(data)
	keys := m.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, k := range keys {
		v := m.MapIndex(k).Interface()
		if reflect.DeepEqual(v, element) {
			return deep + 1
		}
		if isMap(v) {
			if d := howDeepAt(v, element, deep+1); d == deep+2 {
				return d
			}
		}
	}
	return deep
}

func eq(args ...interface{}) bool {
	if len(args) == 0 {
		return false
	}
	x := args[0]
	switch x.(type) {
	case string, int, int64, byte, float32, float64:
		for _, y := range args[1:] {
			if x == y {
				return true
			}
		}
		return false
	}
	for _, y := range args[1:] {
		if reflect.DeepEqual(x, y) {
			return true
		}
	}
	return false
}

type Cell struct{ v interface{} }

func (c *Cell) Set(v interface{}) *Cell { c.v = v; return c }
func (c *Cell) Get() interface{}        { return c.v }

func newCell(v ...interface{}) (*Cell, error) {
	switch len(v) {
	case 0:
		return &Cell{}, nil
	case 1:
		return &Cell{v[0]}, nil
	}
	return nil, fmt.Errorf("wrong number of args: want 0 or 1, got %v", len(v))
}

var dgrFuncs = map[string]interface{}{
	"base": path.Base, "dir": path.Dir, "split": strings.Split, "join": strings.Join,
	"json": jsonObject, "jsonArray": jsonArray, "toUpper": strings.ToUpper,
	"toLower": strings.ToLower, "contains": strings.Contains, "replace": strings.Replace,
	"repeat": strings.Repeat, "hasPrefix": strings.HasPrefix, "hasSuffix": strings.HasSuffix,
	"pairs": pairs, "orDef": orDef, "orDefs": orDefs, "ifOrDef": ifOrDef, "isType": isType,
	"isMap": isMap, "isArray": isArray, "isKind": isKind, "isString": isString,
	"isMapFirst": isMapFirst, "isNil": isNil, "isMapLast": isMapLast, "howDeep": howDeep,
	"add": func(x, y int) int { return x + y }, "mul": func(x, y int) int { return x * y },
	"div": func(x, y int) int { return x / y }, "sub": func(x, y int) int { return x - y },
	"mod": func(x, y int) int { return x % y }, "toJson": toJSON, "cell": newCell, "eq": eq,
	"IsMapFirst": isMapFirst, "IsMapLast": isMapLast, "HowDeep": howDeep,
}

// ---- gtf's functions: every panic is swallowed and the zero value returned

func recovery() { recover() }

func toFloat(v interface{}) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

func asUint(v interface{}) (x uint, neg bool, ok bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if rv.Int() < 0 {
			return uint(-rv.Int()), true, true
		}
		return uint(rv.Int()), false, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return uint(rv.Uint()), false, true
	}
	return 0, false, false
}

var tags = regexp.MustCompile("<[^>]*?>")

var gtfFuncs = map[string]interface{}{
	"replace": func(s1, s2 string) string { defer recovery(); return strings.Replace(s2, s1, "", -1) },
	"default": func(arg, value interface{}) interface{} {
		defer recovery()
		v := reflect.ValueOf(value)
		switch v.Kind() {
		case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
			if v.Len() == 0 {
				return arg
			}
		case reflect.Bool:
			if !v.Bool() {
				return arg
			}
		}
		return value
	},
	"length": func(value interface{}) int {
		defer recovery()
		v := reflect.ValueOf(value)
		switch v.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			return v.Len()
		case reflect.String:
			return len([]rune(v.String()))
		}
		return 0
	},
	"lower": func(s string) string { defer recovery(); return strings.ToLower(s) },
	"upper": func(s string) string { defer recovery(); return strings.ToUpper(s) },
	"truncatechars": func(n int, s string) string {
		defer recovery()
		r := []rune(s)
		if n < 0 || n >= len(r) {
			return s
		}
		if n > 3 && len(r) > 3 {
			return string(r[:n-3]) + "..."
		}
		return string(r[:n])
	},
	"urlencode": func(s string) string { defer recovery(); return url.QueryEscape(s) },
	"wordcount": func(s string) int { defer recovery(); return len(strings.Fields(s)) },
	"divisibleby": func(arg, value interface{}) bool {
		defer recovery()
		v, ok1 := toFloat(value)
		a, ok2 := toFloat(arg)
		return ok1 && ok2 && math.Mod(v, a) == 0
	},
	"lengthis": func(arg int, value interface{}) bool {
		defer recovery()
		v := reflect.ValueOf(value)
		switch v.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			return v.Len() == arg
		case reflect.String:
			return len([]rune(v.String())) == arg
		}
		return false
	},
	"trim":     func(s string) string { defer recovery(); return strings.TrimSpace(s) },
	"capfirst": func(s string) string { defer recovery(); return strings.ToUpper(string(s[0])) + s[1:] },
	"pluralize": func(arg string, value interface{}) string {
		defer recovery()
		x, neg, ok := asUint(value)
		if !ok {
			return ""
		}
		if !strings.Contains(arg, ",") {
			arg = "," + arg
		}
		bits := strings.Split(arg, ",")
		if len(bits) > 2 {
			return ""
		}
		if x == 1 && !neg {
			return bits[0]
		}
		return bits[1]
	},
	"yesno": func(yes, no string, value bool) string {
		defer recovery()
		if value {
			return yes
		}
		return no
	},
	"rjust": func(arg int, value string) string {
		defer recovery()
		if n := arg - len([]rune(value)); n > 0 {
			return strings.Repeat(" ", n) + value
		}
		return value
	},
	"ljust": func(arg int, value string) string {
		defer recovery()
		if n := arg - len([]rune(value)); n > 0 {
			return value + strings.Repeat(" ", n)
		}
		return value
	},
	"center": func(arg int, value string) string {
		defer recovery()
		if n := arg - len([]rune(value)); n > 0 {
			return strings.Repeat(" ", n/2) + value + strings.Repeat(" ", n-n/2)
		}
		return value
	},
	"filesizeformat": func(value interface{}) string {
		defer recovery()
		size, ok := toFloat(value)
		if !ok {
			return ""
		}
		units := []string{"bytes", "KB", "MB", "GB", "TB", "PB"}
		i := 0
		for i < 5 && size >= math.Pow(1024, float64(i+1)) {
			i++
		}
		return strings.Replace(fmt.Sprintf("%.1f %s", size/math.Pow(1024, float64(i)), units[i]), ".0", "", -1)
	},
	"apnumber": func(value interface{}) interface{} {
		defer recovery()
		names := [10]string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
		v := reflect.ValueOf(value)
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if v.Int() < 10 {
				return names[v.Int()-1]
			}
		}
		return value
	},
	"intcomma": func(value interface{}) string {
		defer recovery()
		x, neg, ok := asUint(value)
		if !ok {
			return ""
		}
		out := ""
		for x >= 1000 {
			out = fmt.Sprintf(",%03d%s", x%1000, out)
			x /= 1000
		}
		out = fmt.Sprintf("%d%s", x, out)
		if neg {
			out = "-" + out
		}
		return out
	},
	"ordinal": func(value interface{}) string {
		defer recovery()
		x, neg, ok := asUint(value)
		if !ok || neg {
			return ""
		}
		suffixes := [10]string{"th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"}
		switch x % 100 {
		case 11, 12, 13:
			return fmt.Sprintf("%dth", x)
		}
		return fmt.Sprintf("%d%s", x, suffixes[x%10])
	},
	"first": func(value interface{}) interface{} {
		defer recovery()
		v := reflect.ValueOf(value)
		switch v.Kind() {
		case reflect.String:
			return string([]rune(v.String())[0])
		case reflect.Slice, reflect.Array:
			return v.Index(0).Interface()
		}
		return ""
	},
	"last": func(value interface{}) interface{} {
		defer recovery()
		v := reflect.ValueOf(value)
		switch v.Kind() {
		case reflect.String:
			r := []rune(v.String())
			return string(r[len(r)-1])
		case reflect.Slice, reflect.Array:
			return v.Index(v.Len() - 1).Interface()
		}
		return ""
	},
	"join": func(arg string, value []string) string { defer recovery(); return strings.Join(value, arg) },
	"slice": func(start, end int, value interface{}) interface{} {
		defer recovery()
		v := reflect.ValueOf(value)
		if start < 0 {
			start = 0
		}
		switch v.Kind() {
		case reflect.String:
			r := []rune(v.String())
			if end > len(r) {
				end = len(r)
			}
			return string(r[start:end])
		case reflect.Slice:
			return v.Slice(start, end).Interface()
		}
		return ""
	},
	"striptags": func(s string) string { return strings.TrimSpace(tags.ReplaceAllString(s, "")) },
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		results[i] = run(c)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

// cleanup is dgr's CleanupOfTemplate pre-pass, as dgr's templater applies it.
func cleanup(content string) string {
	var lines []string
	var current string
	scanner := bufio.NewScanner(strings.NewReader(content))
	for scanner.Scan() {
		part := strings.TrimRight(scanner.Text(), " ")
		left := strings.TrimLeft(part, " ")
		if strings.HasPrefix(left, "{{-") {
			part = "{{" + left[3:]
		}
		current += part
		if strings.HasSuffix(current, "-}}") {
			current = current[:len(current)-3] + "}}"
		} else {
			lines = append(lines, current)
			current = ""
		}
	}
	if current != "" {
		lines = append(lines, current)
	}
	return strings.Join(lines, "\n")
}

func run(c testCase) (res result) {
	if c.Context == "cleanup" {
		return result{Output: cleanup(c.Template)}
	}
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprint("panic: ", r)
			res.Error = &msg
		}
	}()
	var data interface{}
	if len(c.Data) > 0 {
		if err := json.Unmarshal(c.Data, &data); err != nil {
			msg := err.Error()
			return result{Error: &msg}
		}
	}
	t := template.New("")
	if c.Context == "attribute" {
		t = t.Funcs(dgrFuncs).Funcs(gtfFuncs)
	} else {
		t = t.Funcs(gtfFuncs).Funcs(dgrFuncs)
	}
	t, err := t.Parse(c.Template)
	if err != nil {
		msg := err.Error()
		return result{Error: &msg}
	}
	var buf bytes.Buffer
	err = t.Execute(&buf, data)
	res.Output = buf.String()
	if err != nil {
		msg := err.Error()
		res.Error = &msg
	}
	return res
}
