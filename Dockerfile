# Build a static binary, then run it as a non-root user in a small image with
# CA certificates (for the Auth0 API and HTTPS Git remotes).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/actionsync ./cmd/actionsync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/actionsync /usr/local/bin/actionsync
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/actionsync"]
