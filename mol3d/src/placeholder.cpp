// Replaced as the library gets its first source.
