# umsync in a container: a static CGO binary (SQLite inside) on distroless,
# running as non-root with its store on a volume.
#
#   docker build -t umsync --build-arg VERSION=$(git describe --tags --always) .
#   docker run -v umsync-data:/var/lib/umsync -v /etc/umsync:/etc/umsync:ro -p 9742:9742 umsync
#
# In a container set telemetry.listen to 0.0.0.0:9742 so the port can be
# published. The build command is `make static`, the same one CI runs and
# proves in an empty root (.ci/run).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make static VERSION=$VERSION && mkdir -p /out/var/lib/umsync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/umsync-static /usr/local/bin/umsync
COPY --from=build --chown=65532:65532 /out/var/lib/umsync /var/lib/umsync
COPY configs/umsync.example.yaml /etc/umsync/umsync.example.yaml
USER 65532:65532
VOLUME ["/var/lib/umsync"]
EXPOSE 9742
ENTRYPOINT ["/usr/local/bin/umsync"]
CMD ["serve", "--config", "/etc/umsync/umsync.yaml"]
