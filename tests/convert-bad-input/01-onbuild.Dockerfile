FROM busybox:latest
ONBUILD RUN echo triggered
