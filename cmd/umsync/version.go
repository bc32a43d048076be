package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and revision are set at build time (see the Makefile):
// -ldflags "-X main.version=v1.2.3 -X main.revision=<git sha>".
var (
	version  = "dev"
	revision = ""
)

type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"go_version"`
}

func readBuildInfo() buildInfo {
	bi := buildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if bi.Revision != "" {
		return bi
	}
	bi.Revision = "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				bi.Revision = s.Value
			}
		}
	}
	return bi
}

func newVersionCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			bi := readBuildInfo()
			if output == "json" {
				return json.NewEncoder(g.stdout).Encode(bi)
			}
			_, err := fmt.Fprintf(g.stdout, "umsync %s (revision %s, %s)\n", bi.Version, bi.Revision, bi.GoVersion)
			return err
		},
	}
	outputFlag(cmd, &output)
	return cmd
}
