"""The API's log lines: put on a queue by the request, written by the standard
library's QueueListener in batches, every one of them by the time it stops."""

from __future__ import annotations

import io
import logging

from rfm_segmentation.api.access_log import API_LOGGER, LogLines, api_logging


class CountingStream(io.StringIO):
    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_every_line_is_written_in_order_in_few_writes_by_the_stop():
    stream = CountingStream()
    lines = LogLines(stream, interval=0.05)
    with api_logging(lines):
        for number in range(2000):
            lines.put(f'{{"n": {number}}}')
        logging.getLogger(f"{API_LOGGER}.model_store").warning("Serving %s", "v2")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger(API_LOGGER).exception("Unhandled error")
    written = stream.getvalue().splitlines()
    assert written[:2000] == [f'{{"n": {number}}}' for number in range(2000)]
    assert written[2000] == "Serving v2"
    assert written[2001] == "Unhandled error"
    assert "ValueError: boom" in written[-1]  # the traceback comes along
    assert stream.writes < 100


def test_outside_the_server_the_api_logger_is_as_it_was():
    api_logger = logging.getLogger(API_LOGGER)
    before = (list(api_logger.handlers), api_logger.propagate, api_logger.level)
    with api_logging(LogLines(io.StringIO())):
        assert api_logger.propagate is False
    assert (list(api_logger.handlers), api_logger.propagate, api_logger.level) == before
