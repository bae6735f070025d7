#ifndef COUNT_H
#define COUNT_H

#include <stddef.h>

/* The most frequent word of a text and how often it occurs. */
struct top_word {
	char word[64];
	size_t count;
	size_t words;
};

struct top_word count_words(const char *text);

#endif
