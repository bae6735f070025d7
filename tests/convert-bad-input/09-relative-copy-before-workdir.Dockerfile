FROM busybox:latest
COPY a.txt copied.txt
WORKDIR /app
RUN ls
