FROM busybox:latest
COPY <<A <<B /x/
a
A
