package bus

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// DLQCount is how many dead letters IDV_DLQ holds on one subject
// idv.dlq.<stage>.<name>.
type DLQCount struct {
	Stage    string // "normalize" or "notify"
	Name     string // the source (normalize) or subscriber (notify)
	Messages uint64
}

// DLQStored returns the dead letters stored in IDV_DLQ per stage and name,
// sorted by stage then name; subjects with none stored are absent. It is two
// JetStream API requests: the stream lookup, then its info with a subject
// filter, answered from the server's
// per-subject index (no message is read), so its cost grows with the number
// of distinct subjects (sources and subscribers that ever dead-lettered and
// were not purged), not with the number of dead letters. Subjects not of the
// form idv.dlq.<stage>.<name> are skipped: idvbus never writes them.
func (b *Bus) DLQStored(ctx context.Context) ([]DLQCount, error) {
	st, err := b.js.Stream(ctx, StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamDLQ, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("idv.dlq.>"))
	if err != nil {
		return nil, fmt.Errorf("stream %s info: %w", StreamDLQ, err)
	}
	out := make([]DLQCount, 0, len(info.State.Subjects))
	for subject, n := range info.State.Subjects {
		parts := strings.Split(subject, ".")
		if len(parts) != 4 || n == 0 {
			continue
		}
		out = append(out, DLQCount{Stage: parts[2], Name: parts[3], Messages: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Stage != out[j].Stage {
			return out[i].Stage < out[j].Stage
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
