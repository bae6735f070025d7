/* wordfreq: the most frequent word of stdin, or of each HTTP request body
 * when run with --serve PORT. */
#include "count.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_TEXT 65536

static void report(FILE *out, const char *text)
{
	struct top_word top = count_words(text);
	fprintf(out, "%zu words, most frequent: %s (%zu)\n", top.words, top.word, top.count);
}

static void answer(int client)
{
	static char request[MAX_TEXT + 1];
	ssize_t n = read(client, request, MAX_TEXT);
	const char *body;
	char reply[256];
	FILE *out;

	request[n > 0 ? n : 0] = '\0';
	body = strstr(request, "\r\n\r\n");
	out = fmemopen(reply, sizeof reply, "w");
	report(out, body ? body + 4 : "");
	fclose(out);
	dprintf(client, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n%s", reply);
	close(client);
}

static int serve(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1, server = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(server, (struct sockaddr *)&addr, sizeof addr) || listen(server, 16)) {
		perror("wordfreq");
		return 1;
	}
	fprintf(stderr, "wordfreq %s listening on :%d\n", VERSION, port);
	for (;;) {
		int client = accept(server, NULL, NULL);
		if (client >= 0)
			answer(client);
	}
}

int main(int argc, char **argv)
{
	static char text[MAX_TEXT + 1];
	size_t len;

	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("wordfreq %s\n", VERSION);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "--serve"))
		return serve(atoi(argv[2]));
	len = fread(text, 1, MAX_TEXT, stdin);
	text[len] = '\0';
	report(stdout, text);
	return 0;
}
