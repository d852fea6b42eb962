"""The web app in a real browser (Debian's chromium, driven by Selenium through Debian's
chromedriver: nothing downloaded), against the session's mesh on both backends: two people,
one posts a photo, the other sees it arrive live and likes it, the first is notified.

Screenshots of the main screens are saved in build/screenshots/ (README links the copies in
docs/screenshots/).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from deploy.local import Mesh

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE = (412, 915)  # CSS pixels: the app must work at phone width
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WAIT_S = 15.0
PASSWORD = "correct horse battery"


class Person:
    """One browser, one person."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.wait = WebDriverWait(driver, WAIT_S)

    def open(self, route: str = "/") -> None:
        self.driver.get(f"{self.base_url}/#{route}")

    def find(self, css: str) -> WebElement:
        return self.wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def click(self, css: str) -> None:
        self.wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def text_of(self, css: str) -> str:
        return self.find(css).text

    def until_text(self, css: str, text: str) -> None:
        self.wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    def sign_up(self, username: str) -> None:
        self.open()
        self.find("#sign-up-username").send_keys(username)
        self.find("#sign-up-password").send_keys(PASSWORD)
        self.click("form.auth:nth-of-type(2) button[type=submit]")
        self.find("a[href='#/new']")  # signed in: the bar shows the app

    def console_errors(self) -> list[str]:
        """What the page logged as errors (failed loads included)."""
        entries: list[dict[str, str]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [e["message"] for e in entries if e["level"] == "SEVERE"]

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def browsers(mesh: Mesh) -> Iterator[Callable[[], Person]]:
    """Headless chromium windows at phone width, each a separate profile (its own storage)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            pytest.fail(
                f"{path} is missing: `make setup` installs Debian's chromium and chromium-driver"
            )
    started: list[webdriver.Chrome] = []

    def start() -> Person:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            f"--window-size={PHONE[0]},{PHONE[1]}",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        started.append(driver)
        return Person(driver, mesh.base_url)

    yield start
    for driver in started:
        driver.quit()


def test_one_posts_the_other_sees_it_live_and_likes_it_and_the_first_is_notified(
    browsers: Callable[[], Person], username: Names, samples: Path
) -> None:
    ada, bob = browsers(), browsers()
    ada_name, bob_name = username("ada"), username("bob")
    ada.open()
    ada.find("#sign-in-username")
    ada.shot("sign-in")
    ada.sign_up(ada_name)
    bob.sign_up(bob_name)

    # Bob finds Ada by name and follows her.
    bob.open("/people")
    bob.find("#find").send_keys(ada_name)
    bob.click("form.find button[type=submit]")
    bob.click(".found button.follow")
    bob.until_text(".found button.follow", "Following")
    bob.open("/")  # his home feed, its live stream open
    bob.until_text(".end", "No posts yet")

    # Ada posts a photo through the resumable upload, with its progress bar.
    ada.open("/new")
    ada.find("#file").send_keys(str(samples / "orientation" / "Landscape_6.jpg"))
    ada.find("#caption").send_keys("Waterfall at dawn")
    ada.shot("new-post")
    ada.click("form.compose button[type=submit]")
    ada.until_text("#toasts", "Posted.")

    # It reaches Bob's open feed live: a banner, no reload.
    bob.until_text(".banner", "1 new post")
    bob.shot("feed-new-posts")
    bob.click(".banner")
    card = bob.find("article.post")
    assert card.find_element(By.CSS_SELECTOR, ".caption").text == "Waterfall at dawn"
    image = card.find_element(By.CSS_SELECTOR, "img")
    assert image.get_attribute("alt") == f"Photo by {ada_name}: Waterfall at dawn"
    # Laid out from aspectRatio with its BlurHash placeholder; the renditions by the rule.
    assert card.find_element(By.CSS_SELECTOR, ".frame canvas.placeholder")
    assert "/media/" in (image.get_attribute("src") or "")
    sources = [s.get_attribute("type") for s in card.find_elements(By.CSS_SELECTOR, "source")]
    assert sources[-1] == "image/webp"  # AVIF first once it is added; JPEG the fallback
    bob.wait.until(
        lambda _: (
            "loaded" in (card.find_element(By.CSS_SELECTOR, ".frame").get_attribute("class") or "")
        )
    )
    card.find_element(By.CSS_SELECTOR, "button.like").send_keys(Keys.ENTER)  # by keyboard
    bob.until_text("article.post button.like", "1 like")
    assert card.find_element(By.CSS_SELECTOR, "button.like").get_attribute("aria-pressed") == "true"
    bob.click("article.post button.comment-toggle")
    bob.find("article.post .comment-form input").send_keys("Beautiful!")
    bob.click("article.post .comment-form button[type=submit]")
    bob.until_text("article.post .comment-list", "Beautiful!")
    bob.shot("feed")

    # Ada is told: the badge counts live, the list says who did what.
    ada.until_text("#bar .badge", "3")  # a follow, a like, a comment
    ada.click("a[href='#/notifications']")
    ada.until_text(".notifications", f"{bob_name} liked your post")
    assert f"{bob_name} followed you" in ada.text_of(".notifications")
    assert "Beautiful!" in ada.text_of(".notifications")
    ada.shot("notifications")
    ada.click("main > button")  # mark all read
    ada.wait.until(
        lambda _: not ada.driver.find_element(By.CSS_SELECTOR, "#bar .badge").is_displayed()
    )

    # Her profile grid has the post.
    ada.click("#bar a[href^='#/u/']")
    ada.until_text(".profile .counts", "1 posts")
    assert len(ada.driver.find_elements(By.CSS_SELECTOR, ".grid .cell")) == 1
    ada.shot("profile")
    assert not bob.console_errors()


def test_an_upload_carries_on_after_the_connection_drops(
    browsers: Callable[[], Person], username: Names, samples: Path
) -> None:
    cy = browsers()
    cy.sign_up(username("cy"))
    cy.open("/new")
    cy.find("#file").send_keys(str(samples / "orientation" / "Landscape_1.jpg"))
    cy.find("#caption").send_keys("sent over a bad connection")
    # Slow enough that the connection drops halfway (chromium's network emulation).
    network = cy.driver.execute_cdp_cmd
    network("Network.enable", {})
    conditions = {"offline": False, "latency": 0, "downloadThroughput": -1}
    network("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": 40_000})
    cy.click("form.compose button[type=submit]")
    cy.wait.until(lambda _: int(cy.find("#progress").get_attribute("value") or 0) > 0)
    network(
        "Network.emulateNetworkConditions", {**conditions, "offline": True, "uploadThroughput": -1}
    )
    cy.until_text(".compose .state", "Connection lost: resuming")
    cy.shot("upload-resuming")
    network("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": -1})
    cy.until_text("#toasts", "Posted.")  # the rest was sent, the post published
    cy.click("#bar a[href^='#/u/']")
    cy.wait.until(lambda _: len(cy.driver.find_elements(By.CSS_SELECTOR, ".grid .cell")) == 1)
