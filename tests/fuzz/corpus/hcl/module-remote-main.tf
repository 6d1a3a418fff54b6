module "git" {
  source = "git::https://example.com/m.git"
}

module "registry" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}

module "s3" {
  source = "s3::https://s3.amazonaws.com/b/m.zip"
}

module "abs" {
  source = "/etc"
}
