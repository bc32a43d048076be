package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/store"
	"github.com/umsync/umsync/ums"
)

// purgedBody is a purged user in the changes feed.
type purgedBody struct {
	Anchor string `json:"anchor"`
	State  string `json:"state"` // purged
}

type usersBody struct {
	Users  []any  `json:"users"`
	Cursor string `json:"cursor"`
}

// view is a user as the API answers it: the view `users list --output
// json` prints and the effective settings.
func (c *call) view(u ums.User) ums.UserView {
	return ums.ViewOf(u).With("effective_settings", ums.EffectiveSettings(c.set.Profiles, c.set.Language, &u))
}

func (s *Server) openapi(c *call) error {
	c.w.Header().Set("Content-Type", "application/yaml")
	c.w.WriteHeader(http.StatusOK)
	_, err := c.w.Write(configs.OpenAPI)
	return err
}

// listUsers: the filtered list and the cursor of the state it shows, or,
// with since, every change after that cursor.
func (s *Server) listUsers(c *call) error {
	q := c.r.URL.Query()
	for key := range q {
		switch key {
		case "search", "state", "license", "limit", "offset", "since":
		default:
			return errf(http.StatusBadRequest, "unknown parameter %q", key)
		}
	}
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		return err
	}
	offset, err := intParam(q.Get("offset"), "offset")
	if err != nil {
		return err
	}
	out := usersBody{Users: []any{}}
	if q.Has("since") {
		for _, k := range []string{"search", "state", "license", "offset"} {
			if q.Has(k) {
				return errf(http.StatusBadRequest, "since takes no %s: the feed has every change", k)
			}
		}
		since, err := strconv.ParseInt(q.Get("since"), 10, 64)
		if err != nil || since < 0 {
			return errf(http.StatusBadRequest, "since must be a cursor this API answered")
		}
		changes, cursor, err := s.store.Changes(c.r.Context(), since, limit)
		if err != nil {
			return err
		}
		for _, ch := range changes {
			if ch.Purged {
				out.Users = append(out.Users, purgedBody{Anchor: ch.User.Anchor, State: "purged"})
			} else {
				out.Users = append(out.Users, c.view(ch.User))
			}
		}
		out.Cursor = strconv.FormatInt(cursor, 10)
		writeJSON(c.w, http.StatusOK, out)
		return nil
	}
	f := store.UserFilter{Search: q.Get("search"), State: ums.State(q.Get("state")),
		License: ums.LicenseState(q.Get("license")), Limit: limit, Offset: offset}
	if f.State != "" && !f.State.Valid() {
		return errf(http.StatusBadRequest, "state must be active or deactivated, got %q", f.State)
	}
	switch f.License {
	case "", ums.LicenseActive, ums.LicensePending, ums.LicenseNone:
	default:
		return errf(http.StatusBadRequest, "license must be active, pending or none, got %q", f.License)
	}
	users, cursor, err := s.store.ListUsersAt(c.r.Context(), f)
	if err != nil {
		return err
	}
	for _, u := range users {
		out.Users = append(out.Users, c.view(u))
	}
	out.Cursor = strconv.FormatInt(cursor, 10)
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

func intParam(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errf(http.StatusBadRequest, "%s must be a number >= 0, got %q", name, v)
	}
	return n, nil
}

// findUser finds the user of a path's {id}: anchor, sAMAccountName or
// extension.
func (s *Server) findUser(c *call, id string) (ums.User, error) {
	u, err := s.store.User(c.r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return u, errf(http.StatusNotFound, "no user %q", id)
	}
	if err == nil {
		c.target = u.Anchor
	}
	return u, err
}

func (s *Server) getUser(c *call) error {
	u, err := s.findUser(c, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, c.view(u))
	return nil
}

type lookupBody struct {
	User  ums.UserView `json:"user"`
	Field string       `json:"field"`
}

// lookup finds the one active user a number as dialled belongs to.
func (s *Server) lookup(c *call) error {
	raw := c.r.URL.Query().Get("number")
	if raw == "" {
		return errf(http.StatusBadRequest, "number is required")
	}
	e164, okE := c.set.Numbers.NormalizeE164(raw)
	ext, okX := ums.NormalizeExtension(raw)
	if !okE && !okX {
		return errf(http.StatusBadRequest, "%q is not a phone number", raw)
	}
	if !okE {
		e164 = ""
	}
	if !okX {
		ext = ""
	}
	users, err := s.store.UsersWithNumber(c.r.Context(), ext, e164)
	if err != nil {
		return err
	}
	switch len(users) {
	case 0:
		return errf(http.StatusNotFound, "no active user has the number %q", raw)
	case 1:
	default:
		return errf(http.StatusConflict, "%d users have the number %q: fix it in AD", len(users), raw)
	}
	u := users[0]
	c.target = u.Anchor
	writeJSON(c.w, http.StatusOK, lookupBody{User: c.view(u), Field: numberField(u, ext, e164)})
	return nil
}

// numberField names the field of u that holds the number.
func numberField(u ums.User, ext, e164 string) string {
	switch {
	case ext != "" && u.Extension == ext:
		return "extension"
	case e164 != "" && u.Phone == e164:
		return "phone"
	case e164 != "" && u.Mobile == e164:
		return "mobile"
	}
	for _, n := range u.FaxNumbers {
		if n == e164 {
			return "fax_numbers"
		}
	}
	return "alias_numbers"
}
