FROM busybox:latest
LABEL x=ÿþ
