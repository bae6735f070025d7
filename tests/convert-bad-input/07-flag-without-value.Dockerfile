FROM busybox:latest AS build
FROM busybox:latest
COPY --from /a /a
