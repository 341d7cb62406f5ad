"""The bootstrap picks a Chromium that Playwright can really drive."""
from portals.browser import CHROMIUM_ARGS, find_chromium


async def test_bootstrapped_chromium_renders_a_page(page):
    await page.set_content("<button>Go</button>")
    await page.get_by_role("button", name="Go").click()
    assert await page.title() == ""


def test_choice_carries_offline_flags():
    kwargs = find_chromium().launch_kwargs()
    assert set(CHROMIUM_ARGS) <= set(kwargs["args"])


def test_install_takes_the_distribution_package_before_playwright_download(monkeypatch, tmp_path):
    """As root with apt, the bootstrap installs Debian's chromium and never starts Playwright's download
    (which retries its hosts for minutes on a machine without general internet)."""
    import portals.browser as browser

    system = tmp_path / "chromium"
    ran = []

    def run(argv, check=False):
        ran.append(argv)
        if argv[:2] == ["apt-get", "install"]:
            system.write_text("")

    monkeypatch.setattr(browser, "DEBIAN_CHROMIUM", system)
    monkeypatch.setattr(browser, "_playwright_managed", lambda: None)
    monkeypatch.setattr(browser, "_can_install_system", lambda: True)
    monkeypatch.setattr(browser.subprocess, "run", run)
    choice = browser.find_chromium(install=True)
    assert (choice.source, choice.executable_path) == ("system", str(system))
    assert ran == [["apt-get", "install", "-y", "-qq", "chromium"]]
