"""The drift check's structural reduction: data is not drift, structure is."""
from portals.drift import normalize

PAGE = '''- banner:
  - link "Home":
    - /url: /home
  - heading "Claim Status" [level=1]
- main:
  - textbox "Member ID": W{member}
  - checkbox "Remember" [checked]
  - button "Search"
  - table "Claims":
    - rowgroup:
      - row "Claim # Status":
        - columnheader "Claim #"
        - columnheader "Status"
    - rowgroup:
{rows}  - paragraph: Hello {who}
'''
ROW = '''      - row "{n} {s}":
        - cell "{n}":
          - link "{n}":
            - /url: /c/{n}
        - cell "{s}"
'''


def page(rows, member="123", who="Ann", search="Search"):
    body = "".join(ROW.format(n=n, s=s) for n, s in rows)
    return PAGE.format(rows=body, member=member, who=who).replace('button "Search"', f'button "{search}"')


def test_new_data_and_more_rows_are_not_drift():
    a = normalize(page([("C1", "Paid")]))
    b = normalize(page([("C9", "Denied"), ("C8", "Paid"), ("C7", "Paid")], member="999", who="Bob"))
    assert a == b


def test_no_data_survives_normalisation():
    text = normalize(page([("CLM-555", "Denied")], member="MEMBER77", who="Zed"))
    for secret in ("CLM-555", "MEMBER77", "Zed", "/c/"):
        assert secret not in text
    assert 'columnheader "Claim #"' in text and 'heading "Claim Status" [level=1]' in text


def test_renamed_control_is_drift():
    assert normalize(page([("C1", "Paid")])) != normalize(page([("C1", "Paid")], search="Find claims"))
