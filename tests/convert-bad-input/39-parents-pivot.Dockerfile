FROM busybox:latest
COPY --parents src/./a.txt /dst/
