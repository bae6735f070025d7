#include "count.h"

#include <ctype.h>
#include <string.h>

#define MAX_DISTINCT 1024

struct entry {
	char word[64];
	size_t count;
};

/* Lower-cases the next word of text into word; returns the text after it. */
static const char *next_word(const char *text, char *word, size_t size)
{
	size_t len = 0;
	while (*text && !isalnum((unsigned char)*text))
		text++;
	while (*text && isalnum((unsigned char)*text)) {
		if (len + 1 < size)
			word[len++] = (char)tolower((unsigned char)*text);
		text++;
	}
	word[len] = '\0';
	return text;
}

struct top_word count_words(const char *text)
{
	static struct entry table[MAX_DISTINCT];
	size_t distinct = 0;
	struct top_word top = {"", 0, 0};
	char word[64];

	while ((text = next_word(text, word, sizeof word)), word[0]) {
		size_t i;
		top.words++;
		for (i = 0; i < distinct && strcmp(table[i].word, word); i++)
			;
		if (i == distinct) {
			if (distinct == MAX_DISTINCT)
				continue;
			strcpy(table[distinct++].word, word);
			table[i].count = 0;
		}
		if (++table[i].count > top.count) {
			top.count = table[i].count;
			strcpy(top.word, word);
		}
	}
	return top;
}
