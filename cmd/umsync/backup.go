package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newBackupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the store (online: serve may keep running)",
		Long: `Write a consistent copy of the SQLite store to FILE (SQLite's VACUUM INTO),
while serve keeps running. FILE must not exist; it is created 0600 and holds
everything (users, outboxes, audit, run history, secret hashes). Restore: stop
umsync, copy FILE to store.path (remove the -wal and -shm files beside it),
start umsync; the next cycle runs a delta from the backup's watermark.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStoreForReading(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Backup(cmd.Context(), args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "store backed up to %s\n", args[0])
			return err
		},
	}
}
