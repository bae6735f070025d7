ARG HOME=/x
FROM busybox:latest
ENV CFG=$HOME/.config
