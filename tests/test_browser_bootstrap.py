"""The bootstrap picks a Chromium that Playwright can really drive."""
from portals.browser import CHROMIUM_ARGS, find_chromium


async def test_bootstrapped_chromium_renders_a_page(page):
    await page.set_content("<button>Go</button>")
    await page.get_by_role("button", name="Go").click()
    assert await page.title() == ""


def test_choice_carries_offline_flags():
    kwargs = find_chromium().launch_kwargs()
    assert set(CHROMIUM_ARGS) <= set(kwargs["args"])
