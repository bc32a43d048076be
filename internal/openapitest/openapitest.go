// Package openapitest checks HTTP responses in tests against umsync's
// OpenAPI document (configs/openapi.yaml) with libopenapi-validator, so
// that the document and the API cannot drift apart.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/umsync/umsync/configs"
)

var spec = sync.OnceValues(func() (validator.Validator, error) {
	doc, err := libopenapi.NewDocument(configs.OpenAPI)
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return v, nil
})

// ValidateDocument reports every problem of the document itself.
func ValidateDocument(t testing.TB) {
	t.Helper()
	v, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("openapi.yaml: %s: %s", e.Message, e.Reason)
		}
	}
}

// Check reports (t.Errorf) where the response to req, with body raw, is
// not as the document says: an undeclared status code, a body that does
// not fit the schema.
func Check(t testing.TB, req *http.Request, res *http.Response, raw []byte) {
	t.Helper()
	v, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	res.Body = io.NopCloser(bytes.NewReader(raw))
	vreq := req.Clone(context.Background())
	vreq.Body = http.NoBody
	if ok, errs := v.ValidateHttpResponse(vreq, res); !ok {
		for _, ve := range errs {
			var detail []string
			for _, se := range ve.SchemaValidationErrors {
				detail = append(detail, se.FieldPath+": "+se.Reason)
			}
			t.Errorf("%s %s -> %d: not as openapi.yaml says: %s: %s %v\n%s", req.Method, req.URL.Path, res.StatusCode,
				ve.Message, ve.Reason, detail, raw)
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(raw))
}

// Client calls an API and checks every response against the document.
type Client struct {
	T       testing.TB
	BaseURL string
	HTTP    *http.Client // nil: http.DefaultClient
}

// Response is an answer with its body decoded (if JSON).
type Response struct {
	Code int
	Raw  []byte
	Body map[string]any
}

// Do calls method path with the bearer token (none if "") and body (nil,
// a string or a value to marshal), and checks the answer.
func (c Client) Do(method, path, token string, body any) Response {
	c.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.T.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.BaseURL+path, rd)
	if err != nil {
		c.T.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		c.T.Fatal(err)
	}
	Check(c.T, req, res, raw)
	r := Response{Code: res.StatusCode, Raw: raw}
	if ct := res.Header.Get("Content-Type"); len(ct) >= 16 && ct[:16] == "application/json" {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			c.T.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return r
}
