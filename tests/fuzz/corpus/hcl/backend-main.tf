terraform {
  backend "s3" {
    bucket = "b"
    key    = "k"
    region = "eu-west-1"
  }
}
