FROM busybox:latest
ARG SUFFIX
COPY a.txt /a${SUFFIX-none}.txt
