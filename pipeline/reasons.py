"""The closed vocabulary of reasons: why an input was rejected or a line removed.

Every drop in the pipeline is a row carrying one of these codes (DESIGN.md: nothing lost).
The value is what appears in the published `rejects.reason` and `removed_lines.reason` columns.
"""

from enum import StrEnum


class RejectReason(StrEnum):
    """Why an input file (or JSONL record) is not in `articles` or `duplicates`."""

    EMPTY = "empty"                          # no bytes, or only whitespace
    BINARY = "binary"                        # NUL bytes or mostly control characters
    UNDECODABLE = "undecodable"              # no text encoding fits
    TOO_LARGE = "too_large"                  # over ingest.max_file_bytes / max_decompressed_bytes
    TOO_MANY_LINES = "too_many_lines"        # over ingest.max_lines
    UNSUPPORTED_FORMAT = "unsupported_format"  # not txt, html/htm, jsonl (or .gz of these)
    UNREADABLE = "unreadable"                # the OS refused to read it (permissions, broken link)
    CORRUPT_GZIP = "corrupt_gzip"            # truncated or invalid gzip stream
    INVALID_JSON = "invalid_json"            # a JSONL line that is not a JSON object
    MISSING_TEXT = "missing_text"            # a JSONL record without a usable text field
    NOT_ARTICLE = "not_article"              # after cleaning, too little prose for an article
    FAILED_EXPECTATION = "failed_expectation"  # a Great Expectations row-level check failed


class RemovalReason(StrEnum):
    """Why a line of a document is not in the article body."""

    TITLE = "title"                          # the headline, kept as the `title` field
    REPEATED_TITLE = "repeated_title"        # the headline again (any quotes, case, spacing)
    SUBTITLE = "subtitle"                    # the standfirst, kept as the `subtitle` field
    BYLINE = "byline"                        # "By …", kept as `authors`
    DATELINE = "dateline"                    # "NAIROBI, Kenya (Reuters) —" on its own line
    TIMESTAMP = "timestamp"                  # "Published 3:42 PM EST …", kept as `published_at`
    BOILERPLATE = "boilerplate"              # share widgets, comment forms, cookie notices …
    NAVIGATION = "navigation"                # menus, breadcrumbs, link lists
    CAPTION = "caption"                      # image captions and photo credits
    SEPARATOR = "separator"                  # lines of punctuation only
    TEMPLATE = "template"                    # repeated across many documents of the corpus
    DUPLICATE_PARAGRAPH = "duplicate_paragraph"  # the same paragraph earlier in the article
    LOW_CONTENT = "low_content"              # short non-prose lines outside the article's run
    HTML_BOILERPLATE = "html_boilerplate"    # page text the HTML main-content extractor left out
