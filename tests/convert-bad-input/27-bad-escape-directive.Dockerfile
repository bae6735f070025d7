# escape=x
FROM busybox:latest
