check "c" {
  data "http" "x" {
    url = "http://169.254.169.254/latest/meta-data/"
  }
  assert {
    condition     = data.http.x.status_code == 200
    error_message = "x"
  }
}
