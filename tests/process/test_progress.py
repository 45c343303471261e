"""Log lines and the progress bar: lines always (unless quiet), the bar only on a terminal."""
import io

from nstyle.process.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_lines_stay_above_a_bar_that_counts_units():
    out = Terminal()
    with Progress(10, stream=out) as progress:
        progress.log("epoch    1")
        progress.update(3)
        progress.log("epoch    2")
        text = out.getvalue()
        assert "3/10" in text and "epoch    1\n" in text and "epoch    2\n" in text
        assert text.index("epoch    1") < text.index("epoch    2") < text.rindex("3/10")  # the bar is redrawn below
        progress.update(10)
    assert "10/10" in out.getvalue()


def test_elsewhere_only_the_lines_and_quiet_prints_nothing():
    plain = io.StringIO()
    with Progress(10, stream=plain) as progress:
        progress.log("one")
        progress.update(5)
        progress.log("two")
    assert plain.getvalue() == "one\ntwo\n"
    silent = Terminal()
    with Progress(10, quiet=True, stream=silent) as progress:
        progress.log("one")
        progress.update(5)
    assert silent.getvalue() == ""
