/*
 * static.h - serving the files below a directory (handler: {static: {root,
 * index}}, SPEC §3.2).
 */
#ifndef ASTER_HTTP_STATIC_H
#define ASTER_HTTP_STATIC_H

struct http_exchange;

/*
 * Answers a GET or HEAD of the file rel (the raw, still percent-encoded
 * path below the route's mount point: "" or "/a/b%20c.txt") under root,
 * index standing for a directory (NULL: index.html). Nothing outside
 * root is reachable, through ".." or a symbolic link. ETag and
 * Last-Modified with 304, Content-Type by extension, one byte range as
 * 206 (416 past the end); 404 for what is not there, 405 for other
 * methods. request_id goes into problems.
 */
void http_serve_static(struct http_exchange *ex, const char *root,
                       const char *index, const char *rel,
                       const char *request_id);

#endif
